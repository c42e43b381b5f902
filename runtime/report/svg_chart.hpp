#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fl::report {

/// One curve (or bar group) of a chart; `run` picks its colour and the
/// CSS class `run-<run>` that the legend toggles.
struct chart_series {
  std::string name;
  size_t run = 0;
  std::vector<std::pair<double, double>> xy;
  bool dashed = false;
};

struct chart_spec {
  std::string id;      ///< the SVG element's id
  std::string title, x_label, y_label;
};

/// A line chart as an inline SVG element: axes with rounded ticks, one
/// polyline per series and a tooltip (<title>) on each point (at most
/// ~200 per series). Series without points are left out; with
/// none at all the chart says "no data".
std::string line_chart(const chart_spec& spec,
                       const std::vector<chart_series>& series);

/// Grouped bars: for each x, one bar per series side by side (a
/// histogram of integer x values such as staleness).
std::string bar_chart(const chart_spec& spec,
                      const std::vector<chart_series>& series);

/// A heat map of `counts` (rows x columns) with row and column labels; the
/// darker a cell, the larger its share of the largest count.
std::string heat_map(const chart_spec& spec,
                     const std::vector<std::string>& row_labels,
                     const std::vector<std::string>& column_labels,
                     const std::vector<std::vector<uint64_t>>& counts);

/// The legend of `series` (those with points) as HTML, one entry per
/// series with the class `legend-item run-<run>` and `data-run`.
std::string legend_html(const std::vector<chart_series>& series);

/// The colour of run `i` (a fixed palette, repeated).
std::string run_color(size_t i);

/// `x` with &, <, >, " and ' escaped for HTML text and attributes.
std::string html_escape(const std::string& x);

} // namespace fl::report
