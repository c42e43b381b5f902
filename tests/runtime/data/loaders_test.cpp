// The dataset loaders (IDX, NumPy .npy, CSV) on good files and on broken
// ones, whose errors must name the file and the line or byte offset; the
// dataset checks and the by-owner partition.

#include <catch2/catch.hpp>

#include <cstring>

#include "runtime/core/errors.hpp"
#include "runtime/data/csv.hpp"
#include "runtime/data/dataset_loader.hpp"
#include "runtime/data/idx.hpp"
#include "runtime/data/npy.hpp"
#include "runtime/data/partition.hpp"
#include "support/temp_files.hpp"

using namespace fl;

namespace {

/// An IDX file: type byte, dimensions, then the big-endian payload given.
std::vector<uint8_t> idx_bytes(uint8_t type, std::vector<uint32_t> dims,
                               std::vector<uint8_t> payload) {
  std::vector<uint8_t> out{0, 0, type, static_cast<uint8_t>(dims.size())};
  for (auto d : dims)
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<uint8_t>(d >> shift));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

/// A version-1 .npy file with the given header dictionary and payload.
std::vector<uint8_t> npy_bytes(const std::string& dict,
                               const std::vector<uint8_t>& payload) {
  std::string header = dict;
  // Pad so that magic + 4 + header is a multiple of 64, ending in '\n'.
  while ((10 + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(payload.begin(), payload.end());
  return std::vector<uint8_t>(out.begin(), out.end());
}

template <class T>
std::vector<uint8_t> raw(const std::vector<T>& xs) {
  std::vector<uint8_t> out(xs.size() * sizeof(T));
  std::memcpy(out.data(), xs.data(), out.size());
  return out;
}

std::string message(const caf::error& err) {
  return describe(err);
}

} // namespace

TEST_CASE("IDX: a u8 image file and its labels load with pixels scaled "
          "and a channel axis",
          "[data][idx]") {
  test::temp_dir dir;
  auto x = dir.write("x.idx", idx_bytes(0x08, {3, 2, 2},
                                        {0, 255, 51, 102, 1, 2, 3, 4, 5, 6,
                                         7, 8}));
  auto y = dir.write("y.idx", idx_bytes(0x08, {3}, {2, 0, 1}));
  auto s = read_idx(x, y);
  REQUIRE(s);
  CHECK(s->count == 3);
  CHECK(s->sample_shape == std::vector<int64_t>{1, 2, 2});
  CHECK(s->features[1] == Approx(1.0));
  CHECK(s->features[2] == Approx(0.2));
  CHECK(s->labels == std::vector<int64_t>{2, 0, 1});
}

TEST_CASE("IDX: i32 labels are read big-endian", "[data][idx]") {
  test::temp_dir dir;
  auto y = dir.write("y.idx", idx_bytes(0x0C, {2}, {0, 0, 1, 0, 0, 0, 0, 7}));
  auto a = read_idx_array(y);
  REQUIRE(a);
  auto ints = to_integers(*a);
  REQUIRE(ints);
  CHECK(*ints == std::vector<int64_t>{256, 7});
}

TEST_CASE("IDX: broken files are refused with the path and the reason",
          "[data][idx]") {
  test::temp_dir dir;
  SECTION("truncated payload") {
    auto p = dir.write("t.idx", idx_bytes(0x08, {4, 2}, {1, 2, 3}));
    auto a = read_idx_array(p);
    REQUIRE(!a);
    CHECK_THAT(message(a.error()), Catch::Contains("t.idx")
                                     && Catch::Contains("truncated"));
  }
  SECTION("unknown element type") {
    auto p = dir.write("u.idx", idx_bytes(0x05, {1}, {1}));
    auto a = read_idx_array(p);
    REQUIRE(!a);
    CHECK_THAT(message(a.error()), Catch::Contains("element type")
                                     && Catch::Contains("offset 2"));
  }
  SECTION("not IDX at all") {
    auto p = dir.write("n.idx", std::string{"hello world"});
    auto a = read_idx_array(p);
    REQUIRE(!a);
    CHECK(a.error() == errc::malformed_message);
  }
  SECTION("labels that do not match the samples") {
    auto x = dir.write("x.idx", idx_bytes(0x08, {2, 1}, {1, 2}));
    auto y = dir.write("y.idx", idx_bytes(0x08, {3}, {0, 1, 0}));
    auto s = read_idx(x, y);
    REQUIRE(!s);
    CHECK_THAT(message(s.error()), Catch::Contains("3 labels for 2 samples"));
  }
  SECTION("a missing file") {
    auto a = read_idx_array(dir.path("absent.idx"));
    REQUIRE(!a);
    CHECK(a.error() == errc::io_error);
    CHECK_THAT(message(a.error()), Catch::Contains("absent.idx"));
  }
}

TEST_CASE("npy: float32, big-endian int16 and uint8 arrays load",
          "[data][npy]") {
  test::temp_dir dir;
  auto f = dir.write("f.npy", npy_bytes("{'descr': '<f4', 'fortran_order': "
                                        "False, 'shape': (2, 3), }",
                                        raw(std::vector<float>{
                                          1, 2, 3, 4, 5, 6.5f})));
  auto a = read_npy(f);
  REQUIRE(a);
  CHECK(a->shape == std::vector<int64_t>{2, 3});
  CHECK(to_floats(*a, true) == std::vector<float>{1, 2, 3, 4, 5, 6.5f});
  auto b = dir.write("b.npy", npy_bytes("{'descr': '>i2', 'fortran_order': "
                                        "False, 'shape': (2,), }",
                                        {0x01, 0x00, 0xff, 0xfe}));
  auto big = read_npy(b);
  REQUIRE(big);
  CHECK(*to_integers(*big) == std::vector<int64_t>{256, -2});
  auto u = dir.write("u.npy", npy_bytes("{'descr': '|u1', 'fortran_order': "
                                        "False, 'shape': (1, 2), }",
                                        {0, 255}));
  auto bytes = read_npy(u);
  REQUIRE(bytes);
  CHECK(to_floats(*bytes, true) == std::vector<float>{0, 1});
}

TEST_CASE("npy: unsupported or broken files are refused", "[data][npy]") {
  test::temp_dir dir;
  auto fails_with = [&](const std::vector<uint8_t>& bytes,
                        const std::string& text) {
    auto p = dir.write("bad.npy", bytes);
    auto a = read_npy(p);
    REQUIRE(!a);
    CHECK(a.error() == errc::malformed_message);
    CHECK_THAT(message(a.error()),
               Catch::Contains("bad.npy") && Catch::Contains(text));
  };
  fails_with(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': "
                       "(1, 1), }",
                       raw(std::vector<float>{1})),
             "Fortran");
  fails_with(npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': "
                       "(1,), }",
                       raw(std::vector<float>{1, 2})),
             "unsupported dtype");
  fails_with(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': "
                       "(4,), }",
                       raw(std::vector<float>{1, 2})),
             "truncated");
  fails_with(std::vector<uint8_t>{'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0},
             "magic");
}

TEST_CASE("csv: header, label column by name and owner column",
          "[data][csv]") {
  test::temp_dir dir;
  auto p = dir.write("d.csv", std::string{"a, b, user, y\n"
                                          "0.5, 1, 7, 1\n"
                                          "\n"
                                          "-1, 2e-1, 3, 0\n"});
  csv_options opts;
  opts.label_column = "y";
  opts.owner_column = "user";
  auto s = read_csv(p, opts);
  REQUIRE(s);
  CHECK(s->count == 2);
  CHECK(s->sample_shape == std::vector<int64_t>{2});
  CHECK(s->features == std::vector<float>{0.5f, 1, -1, 0.2f});
  CHECK(s->labels == std::vector<int64_t>{1, 0});
  CHECK(s->owners == std::vector<int64_t>{7, 3});
}

TEST_CASE("csv: no header, regression target in column 0", "[data][csv]") {
  test::temp_dir dir;
  auto p = dir.write("r.csv", std::string{"1.5,1,2\n-2,3,4\n"});
  csv_options opts;
  opts.label_column = "0";
  opts.task = task_kind::regression;
  auto s = read_csv(p, opts);
  REQUIRE(s);
  CHECK(s->targets == std::vector<float>{1.5f, -2});
  CHECK(s->target_size == 1);
  CHECK(s->features == std::vector<float>{1, 2, 3, 4});
}

TEST_CASE("csv: errors name the file, the line and the column",
          "[data][csv]") {
  test::temp_dir dir;
  auto fails_with = [&](const std::string& text, const csv_options& opts,
                        const std::string& want) {
    auto p = dir.write("e.csv", text);
    auto s = read_csv(p, opts);
    REQUIRE(!s);
    CHECK_THAT(message(s.error()), Catch::Contains("e.csv")
                                     && Catch::Contains(want));
  };
  csv_options plain;
  fails_with("1,2,0\n3,4\n", plain, "line 2: 2 fields, expected 3");
  fails_with("x,y\n1,0\n2,abc\n", plain, "line 3: column 2: 'abc'");
  fails_with("1,2,0.5\n", plain, "line 1: label '0.5' is not a class");
  csv_options named;
  named.label_column = "label";
  fails_with("a,b,c\n1,2,3\n", named, "no label column 'label'");
  fails_with("", plain, "no samples");
}

TEST_CASE("load_dataset reads npy splits and checks labels against the "
          "classes",
          "[data]") {
  test::temp_dir dir;
  auto dict = [](const std::string& descr, const std::string& shape) {
    return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': "
           + shape + ", }";
  };
  data_source src;
  src.format = "npy";
  src.train_data = dir.write("xt.npy", npy_bytes(dict("<f4", "(3, 2)"),
                                                 raw(std::vector<float>{
                                                   1, 2, 3, 4, 5, 6})));
  src.train_labels = dir.write("yt.npy", npy_bytes(dict("<i8", "(3,)"),
                                                   raw(std::vector<int64_t>{
                                                     0, 2, 1})));
  src.test_data = dir.write("xv.npy", npy_bytes(dict("<f4", "(1, 2)"),
                                                raw(std::vector<float>{7, 8})));
  src.test_labels = dir.write("yv.npy", npy_bytes(dict("<i8", "(1,)"),
                                                  raw(std::vector<int64_t>{
                                                    1})));
  src.owners = dir.write("o.npy", npy_bytes(dict("<i4", "(3,)"),
                                            raw(std::vector<int32_t>{
                                              5, 9, 5})));
  auto d = load_dataset(src);
  REQUIRE(d);
  CHECK((*d)->num_classes == 3);
  CHECK((*d)->train.owners == std::vector<int64_t>{5, 9, 5});
  auto p = partition_by_owner((*d)->train.owners, 2);
  REQUIRE(p);
  CHECK((*p)[0] == std::vector<int64_t>{0, 2});
  CHECK((*p)[1] == std::vector<int64_t>{1});
  auto wrong = partition_by_owner((*d)->train.owners, 3);
  REQUIRE(!wrong);
  CHECK_THAT(message(wrong.error()), Catch::Contains("--clients 2"));
  // Two classes declared, a label 2 present: refused with the sample.
  src.num_classes = 2;
  auto refused = load_dataset(src);
  REQUIRE(!refused);
  CHECK_THAT(message(refused.error()),
             Catch::Contains("label 2 of sample 1"));
  // A required file left out is named.
  src.num_classes = 0;
  src.test_labels.clear();
  auto missing = load_dataset(src);
  REQUIRE(!missing);
  CHECK_THAT(message(missing.error()), Catch::Contains("data.test_labels"));
}

TEST_CASE("the dataset check refuses non-finite features and mismatched "
          "shapes",
          "[data]") {
  dataset d;
  d.num_classes = 2;
  d.train.count = 2;
  d.train.sample_shape = {1};
  d.train.features = {0.5f, std::nanf("")};
  d.train.labels = {0, 1};
  d.test = d.train;
  d.test.features = {0, 1};
  auto err = validate(d, "mine");
  REQUIRE(err);
  CHECK_THAT(message(err), Catch::Contains("mine (train)")
                             && Catch::Contains("sample 1 is not finite"));
  d.train.features = {0, 1};
  d.test.sample_shape = {1, 1};
  CHECK_THAT(message(validate(d, "mine")), Catch::Contains("differ in shape"));
}
