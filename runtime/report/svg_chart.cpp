#include "runtime/report/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace fl::report {

namespace {

constexpr double width = 640, height = 320;
constexpr double left = 64, right = 16, top = 30, bottom = 46;
constexpr double plot_w = width - left - right, plot_h = height - top - bottom;

std::string num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", x);
  return buf;
}

/// A tick label: short, without trailing zeros.
std::string tick_text(double x) {
  char buf[32];
  if (x != 0 && (std::fabs(x) >= 1e7 || std::fabs(x) < 1e-3))
    std::snprintf(buf, sizeof(buf), "%.4g", x);
  else
    std::snprintf(buf, sizeof(buf), "%.6g", x);
  return buf;
}

/// Ticks at 1, 2 or 5 times a power of ten, about five over [lo, hi].
std::vector<double> nice_ticks(double lo, double hi) {
  const double span = hi - lo;
  const double raw = span / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5 ? mag
                      : raw / mag < 3 ? 2 * mag
                      : raw / mag < 7 ? 5 * mag
                                      : 10 * mag;
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9;
       t += step)
    out.push_back(std::fabs(t) < step * 1e-9 ? 0 : t);
  return out;
}

struct axes {
  double x0, x1, y0, y1;
  double px(double x) const { return left + (x - x0) / (x1 - x0) * plot_w; }
  double py(double y) const {
    return top + plot_h - (y - y0) / (y1 - y0) * plot_h;
  }
};

/// The range of the series' values, widened when empty or flat.
axes bounds(const std::vector<chart_series>& series, bool from_zero) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series)
    for (auto [x, y] : s.xy) {
      if (!std::isfinite(x) || !std::isfinite(y))
        continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x);
      y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  if (from_zero)
    y0 = std::min(y0, 0.0);
  if (!(x1 > x0))
    x0 -= 0.5, x1 += 0.5;
  if (!(y1 > y0))
    y0 -= 0.5, y1 += 0.5;
  const double pad = (y1 - y0) * 0.05;
  return {x0, x1, from_zero && y0 == 0 ? 0 : y0 - pad, y1 + pad};
}

std::string open_svg(const chart_spec& spec) {
  return "<svg id=\"" + html_escape(spec.id)
         + "\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
           "viewBox=\"0 0 "
         + num(width) + " " + num(height) + "\" width=\"" + num(width)
         + "\" height=\"" + num(height) + "\" role=\"img\" aria-label=\""
         + html_escape(spec.title) + "\"><title>" + html_escape(spec.title)
         + "</title><text class=\"chart-title\" x=\"" + num(left) + "\" y=\"20\">"
         + html_escape(spec.title) + "</text>";
}

std::string grid(const chart_spec& spec, const axes& a) {
  std::string s;
  for (double t : nice_ticks(a.y0, a.y1)) {
    const auto y = num(a.py(t));
    s += "<line class=\"grid\" x1=\"" + num(left) + "\" x2=\""
         + num(left + plot_w) + "\" y1=\"" + y + "\" y2=\"" + y
         + "\"/><text class=\"tick\" x=\"" + num(left - 6) + "\" y=\"" + y
         + "\" text-anchor=\"end\" dominant-baseline=\"middle\">"
         + tick_text(t) + "</text>";
  }
  for (double t : nice_ticks(a.x0, a.x1)) {
    const auto x = num(a.px(t));
    s += "<line class=\"axis-tick\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\""
         + num(top + plot_h) + "\" y2=\"" + num(top + plot_h + 4)
         + "\"/><text class=\"tick\" x=\"" + x + "\" y=\""
         + num(top + plot_h + 16) + "\" text-anchor=\"middle\">"
         + tick_text(t) + "</text>";
  }
  s += "<rect class=\"frame\" x=\"" + num(left) + "\" y=\"" + num(top)
       + "\" width=\"" + num(plot_w) + "\" height=\"" + num(plot_h) + "\"/>";
  s += "<text class=\"axis-label\" x=\"" + num(left + plot_w / 2) + "\" y=\""
       + num(height - 8) + "\" text-anchor=\"middle\">"
       + html_escape(spec.x_label) + "</text>";
  s += "<text class=\"axis-label\" transform=\"translate(14 "
       + num(top + plot_h / 2) + ") rotate(-90)\" text-anchor=\"middle\">"
       + html_escape(spec.y_label) + "</text>";
  return s;
}

std::vector<chart_series> non_empty(const std::vector<chart_series>& series) {
  std::vector<chart_series> out;
  for (const auto& s : series)
    if (!s.xy.empty())
      out.push_back(s);
  return out;
}

std::string no_data(const chart_spec& spec) {
  return open_svg(spec) + "<text class=\"no-data\" x=\"" + num(width / 2)
         + "\" y=\"" + num(height / 2)
         + "\" text-anchor=\"middle\">no data</text></svg>";
}

} // namespace

std::string legend_html(const std::vector<chart_series>& all) {
  std::string s = "<div class=\"legend\">";
  for (const auto& c : non_empty(all))
    s += "<span class=\"legend-item run-" + std::to_string(c.run)
         + "\" data-run=\"" + std::to_string(c.run)
         + "\"><svg width=\"18\" height=\"8\"><line x1=\"0\" x2=\"18\" "
           "y1=\"4\" y2=\"4\" stroke=\""
         + run_color(c.run) + "\" stroke-width=\"3\""
         + (c.dashed ? " stroke-dasharray=\"5 3\"" : "") + "/></svg>"
         + html_escape(c.name) + "</span>";
  return s + "</div>";
}

std::string run_color(size_t i) {
  static const char* palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                  "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  return palette[i % (sizeof(palette) / sizeof(palette[0]))];
}

std::string html_escape(const std::string& x) {
  std::string out;
  out.reserve(x.size());
  for (char c : x) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string line_chart(const chart_spec& spec,
                       const std::vector<chart_series>& all) {
  const auto series = non_empty(all);
  if (series.empty())
    return no_data(spec);
  const auto a = bounds(series, false);
  std::string s = open_svg(spec) + grid(spec, a);
  for (const auto& c : series) {
    const auto cls = "run-" + std::to_string(c.run);
    std::string points;
    for (auto [x, y] : c.xy)
      if (std::isfinite(x) && std::isfinite(y))
        points += num(a.px(x)) + "," + num(a.py(y)) + " ";
    s += "<g class=\"series " + cls + "\"><polyline fill=\"none\" stroke=\""
         + run_color(c.run) + "\" stroke-width=\"2\""
         + (c.dashed ? " stroke-dasharray=\"5 3\"" : "") + " points=\""
         + points + "\"/>";
    const size_t stride = std::max<size_t>(1, c.xy.size() / 200);
    for (size_t i = 0; i < c.xy.size(); i += stride) {
      auto [x, y] = c.xy[i];
      if (!std::isfinite(x) || !std::isfinite(y))
        continue;
      s += "<circle cx=\"" + num(a.px(x)) + "\" cy=\"" + num(a.py(y))
           + "\" r=\"2.5\" fill=\"" + run_color(c.run) + "\"><title>"
           + html_escape(c.name) + ": " + html_escape(spec.x_label) + " "
           + tick_text(x) + ", " + html_escape(spec.y_label) + " "
           + tick_text(y) + "</title></circle>";
    }
    s += "</g>";
  }
  return s + "</svg>";
}

std::string bar_chart(const chart_spec& spec,
                      const std::vector<chart_series>& all) {
  const auto series = non_empty(all);
  if (series.empty())
    return no_data(spec);
  auto a = bounds(series, true);
  a.x0 -= 0.5, a.x1 += 0.5; // a whole bar at each end
  const double slot = plot_w / (a.x1 - a.x0);
  const double bar = std::max(1.0, slot * 0.8 / static_cast<double>(series.size()));
  std::string s = open_svg(spec) + grid(spec, a);
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& c = series[k];
    s += "<g class=\"series run-" + std::to_string(c.run) + "\">";
    for (auto [x, y] : c.xy) {
      const double x_left = a.px(x) - slot * 0.4 + bar * static_cast<double>(k);
      s += "<rect x=\"" + num(x_left) + "\" y=\"" + num(a.py(y)) + "\" width=\""
           + num(bar) + "\" height=\"" + num(a.py(0) - a.py(y)) + "\" fill=\""
           + run_color(c.run) + "\"><title>" + html_escape(c.name) + ": "
           + html_escape(spec.x_label) + " " + tick_text(x) + ", "
           + html_escape(spec.y_label) + " " + tick_text(y)
           + "</title></rect>";
    }
    s += "</g>";
  }
  return s + "</svg>";
}

std::string heat_map(const chart_spec& spec,
                     const std::vector<std::string>& row_labels,
                     const std::vector<std::string>& column_labels,
                     const std::vector<std::vector<uint64_t>>& counts) {
  if (counts.empty() || column_labels.empty())
    return no_data(spec);
  uint64_t peak = 1;
  for (const auto& row : counts)
    for (auto x : row)
      peak = std::max(peak, x);
  const double cell_w = std::max(4.0, std::min(40.0, 560.0 / static_cast<double>(column_labels.size())));
  const double cell_h = std::max(3.0, std::min(18.0, 600.0 / static_cast<double>(counts.size())));
  const double label_w = 70, head = 44;
  const double w = label_w + cell_w * static_cast<double>(column_labels.size()) + 10;
  const double h = head + cell_h * static_cast<double>(counts.size()) + 10;
  std::string s = "<svg id=\"" + html_escape(spec.id)
                  + "\" class=\"chart heat-map\" xmlns=\"http://www.w3.org/2000/svg\" "
                    "viewBox=\"0 0 " + num(w) + " " + num(h) + "\" width=\""
                  + num(w) + "\" height=\"" + num(h) + "\" role=\"img\"><title>"
                  + html_escape(spec.title) + "</title><text class=\"chart-title\" x=\"4\" y=\"16\">"
                  + html_escape(spec.title) + "</text>";
  // Every label when there is room, else every tenth.
  const bool every_column = cell_w >= 22, every_row = cell_h >= 10;
  for (size_t c = 0; c < column_labels.size(); ++c)
    if (every_column || c % 10 == 0)
      s += "<text class=\"tick\" x=\""
           + num(label_w + cell_w * (static_cast<double>(c) + 0.5)) + "\" y=\""
           + num(head - 6) + "\" text-anchor=\"middle\">"
           + html_escape(column_labels[c]) + "</text>";
  for (size_t r = 0; r < counts.size(); ++r) {
    const double y = head + cell_h * static_cast<double>(r);
    if (every_row || r % 10 == 0)
      s += "<text class=\"tick\" x=\"" + num(label_w - 6) + "\" y=\""
           + num(y + cell_h / 2)
           + "\" text-anchor=\"end\" dominant-baseline=\"middle\">"
           + html_escape(r < row_labels.size() ? row_labels[r] : "")
           + "</text>";
    for (size_t c = 0; c < counts[r].size() && c < column_labels.size(); ++c) {
      const double share = static_cast<double>(counts[r][c]) / static_cast<double>(peak);
      s += "<rect x=\"" + num(label_w + cell_w * static_cast<double>(c)) + "\" y=\""
           + num(y) + "\" width=\"" + num(cell_w) + "\" height=\"" + num(cell_h)
           + "\" fill=\"#08519c\" fill-opacity=\"" + std::to_string(share).substr(0, 5)
           + "\"><title>" + html_escape(spec.y_label) + " "
           + html_escape(r < row_labels.size() ? row_labels[r] : "") + ", "
           + html_escape(spec.x_label) + " " + html_escape(column_labels[c])
           + ": "
           + std::to_string(counts[r][c]) + "</title></rect>";
    }
  }
  return s + "</svg>";
}

} // namespace fl::report
