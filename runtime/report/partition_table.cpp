#include "runtime/report/partition_table.hpp"

#include <fstream>

#include "runtime/core/errors.hpp"
#include "runtime/core/text_fields.hpp"

namespace fl::report {

caf::expected<partition_table> read_partition_csv(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return make_fl_error(errc::io_error, "cannot read '" + path + "'");
  auto bad = [&](size_t line, const std::string& what) {
    return make_fl_error(errc::invalid_config,
                         path + ":" + std::to_string(line) + ": " + what);
  };
  partition_table t;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty())
      continue;
    auto fields = split_fields(line, ',');
    if (t.classes.empty() && line_no == 1) {
      if (fields.size() < 3 || fields[0] != "client" || fields[1] != "samples")
        return bad(line_no, "expected the header client,samples,class_0,... "
                            "(fl-node sim --partition-csv)");
      t.classes.assign(fields.begin() + 2, fields.end());
      continue;
    }
    if (fields.size() != t.classes.size() + 2)
      return bad(line_no, std::to_string(fields.size()) + " fields, the header "
                            "has " + std::to_string(t.classes.size() + 2));
    std::vector<uint64_t> row;
    for (size_t i = 2; i < fields.size(); ++i) {
      double x = 0;
      if (!parse_number(fields[i], x) || x < 0 || x > 1e15
          || x != static_cast<double>(static_cast<uint64_t>(x)))
        return bad(line_no, "'" + fields[i] + "' is not a sample count");
      row.push_back(static_cast<uint64_t>(x));
    }
    t.clients.push_back(fields[0]);
    t.counts.push_back(std::move(row));
  }
  if (t.classes.empty())
    return make_fl_error(errc::invalid_config, path + " is empty");
  return t;
}

} // namespace fl::report
