#include "runtime/data/csv.hpp"

#include <cmath>
#include <cstdlib>

#include "runtime/core/errors.hpp"
#include "runtime/core/text_fields.hpp"
#include "runtime/data/numeric_array.hpp"

namespace fl {

namespace {

/// The index named by `column` ("" = `fallback`): a header name or a
/// 0-based index. Returns -1 when unknown.
long find_column(const std::string& column, long fallback,
                 const std::vector<std::string>& header, size_t fields) {
  if (column.empty())
    return fallback;
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == column)
      return static_cast<long>(i);
  char* end = nullptr;
  const long idx = std::strtol(column.c_str(), &end, 10);
  if (end == column.c_str() + column.size() && idx >= 0
      && static_cast<size_t>(idx) < fields)
    return idx;
  return -1;
}

} // namespace

caf::expected<data_split> read_csv(const std::string& path,
                                   const csv_options& opts) {
  auto bytes = read_file_bytes(path);
  if (!bytes)
    return std::move(bytes.error());
  auto bad = [&](size_t line, const std::string& why) {
    return make_fl_error(errc::malformed_message,
                         "'" + path + "' line " + std::to_string(line) + ": "
                           + why);
  };
  const std::string text(bytes->begin(), bytes->end());
  bytes->clear();
  bytes->shrink_to_fit();
  data_split s;
  std::vector<std::string> header;
  long label_col = -1, owner_col = -1;
  size_t fields = 0, line_no = 0, pos = 0;
  std::vector<double> row;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol == std::string::npos
                                                ? std::string::npos
                                                : eol - pos);
    pos = eol == std::string::npos ? text.size() : eol + 1;
    ++line_no;
    if (trim_field(line).empty())
      continue;
    auto cells = split_fields(line);
    if (fields == 0) {
      fields = cells.size();
      if (fields < 2)
        return bad(line_no, "a sample needs at least one feature and a label "
                            "(only one column)");
      bool is_header = opts.header == "yes";
      if (opts.header == "auto") {
        double v;
        for (const auto& c : cells)
          if (!parse_number(c, v))
            is_header = true;
      }
      if (is_header)
        header = cells;
      label_col = find_column(opts.label_column,
                              static_cast<long>(fields) - 1, header, fields);
      if (label_col < 0)
        return bad(line_no, "no label column '" + opts.label_column + "'");
      if (!opts.owner_column.empty()) {
        owner_col = find_column(opts.owner_column, -1, header, fields);
        if (owner_col < 0 || owner_col == label_col)
          return bad(line_no, "no owner column '" + opts.owner_column + "'");
      }
      const auto feature_count = static_cast<int64_t>(fields) - 1
                                 - (owner_col >= 0 ? 1 : 0);
      if (feature_count < 1)
        return bad(line_no, "no feature columns are left");
      s.sample_shape = {feature_count};
      if (is_header)
        continue;
    }
    if (cells.size() != fields)
      return bad(line_no, std::to_string(cells.size()) + " fields, expected "
                            + std::to_string(fields));
    row.resize(fields);
    for (size_t c = 0; c < fields; ++c)
      if (!parse_number(cells[c], row[c]))
        return bad(line_no, "column " + std::to_string(c + 1) + ": '"
                              + cells[c] + "' is not a number");
    for (size_t c = 0; c < fields; ++c) {
      const auto col = static_cast<long>(c);
      const double v = row[c];
      if (col == label_col) {
        if (opts.task == task_kind::regression) {
          s.targets.push_back(static_cast<float>(v));
        } else {
          if (v < 0 || std::floor(v) != v)
            return bad(line_no, "label '" + cells[c]
                                  + "' is not a class index (a whole "
                                    "number >= 0)");
          s.labels.push_back(static_cast<int64_t>(v));
        }
      } else if (col == owner_col) {
        if (v < 0 || std::floor(v) != v)
          return bad(line_no, "owner '" + cells[c]
                                + "' is not an id (a whole number >= 0)");
        s.owners.push_back(static_cast<int64_t>(v));
      } else {
        s.features.push_back(static_cast<float>(v));
      }
    }
    ++s.count;
  }
  if (s.count == 0)
    return make_fl_error(errc::malformed_message,
                         "'" + path + "' holds no samples");
  if (opts.task == task_kind::regression)
    s.target_size = 1;
  return s;
}

} // namespace fl
