#include "runtime/report/html_report.hpp"

#include <cstdio>
#include <functional>

#include "runtime/report/svg_chart.hpp"

namespace fl::report {

namespace {

using field = std::function<std::optional<double>(const run_point&)>;

/// One series per run of `y` against the step or the wall time.
std::vector<chart_series> curves(const std::vector<run_series>& runs,
                                 const field& y, bool by_time,
                                 const std::string& suffix = "",
                                 bool dashed = false) {
  std::vector<chart_series> out;
  for (size_t i = 0; i < runs.size(); ++i) {
    chart_series s{runs[i].label + " (" + runs[i].mode + ")" + suffix, i, {},
                   dashed};
    for (const auto& p : runs[i].points)
      if (auto v = y(p))
        s.xy.emplace_back(by_time ? p.elapsed_s : static_cast<double>(p.step),
                          *v);
    out.push_back(std::move(s));
  }
  return out;
}

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, x);
  return buf;
}

std::string summary_table(const std::vector<run_summary>& rows,
                          double target) {
  std::string s = "<table id=\"summary\"><thead><tr><th>run</th><th>mode</th>"
                  "<th>records</th><th>rounds / versions</th>"
                  "<th>final accuracy</th><th>best accuracy (at)</th>"
                  "<th>time to "
                  + fmt("%.3f", target)
                  + "</th><th>wall time</th><th>failures</th><th>bytes</th>"
                    "</tr></thead><tbody>";
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    s += "<tr><td><span class=\"swatch\" style=\"background:"
         + run_color(i) + "\"></span>" + html_escape(r.label) + "</td><td>"
         + html_escape(r.mode) + "</td><td>" + std::to_string(r.records)
         + "</td><td>" + std::to_string(r.last_step) + "</td><td>"
         + (r.final_accuracy ? fmt("%.4f", *r.final_accuracy) : "–")
         + "</td><td>"
         + (r.best_accuracy ? fmt("%.4f", *r.best_accuracy) + " ("
                                + std::to_string(r.best_step) + ")"
                            : "–")
         + "</td><td>"
         + (r.time_to_target_s
              ? fmt("%.2f s", *r.time_to_target_s) + " ("
                  + std::to_string(*r.step_to_target) + ")"
              : "not reached")
         + "</td><td>" + fmt("%.2f s", r.wall_s) + "</td><td>"
         + fmt("%.0f", r.failures) + "</td><td>"
         + (r.has_bytes ? fmt("%.1f MB", r.bytes / 1e6) : "–")
         + "</td></tr>";
  }
  return s + "</tbody></table>";
}

std::string figure(const std::string& svg,
                   const std::vector<chart_series>& series,
                   const std::string& caption) {
  return "<figure>" + svg + legend_html(series) + "<figcaption>"
         + html_escape(caption) + "</figcaption></figure>";
}

/// A line chart with its legend and caption.
std::string line_figure(const chart_spec& spec,
                        const std::vector<chart_series>& series,
                        const std::string& caption) {
  return figure(line_chart(spec, series), series, caption);
}

const char* style = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1360px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#555;font-size:13px}
table{border-collapse:collapse;font-size:13px}th,td{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}
.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
.grid-2{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;border:1px solid #e4e4e4;border-radius:4px;padding:4px;background:#fff}
figcaption{font-size:12px;color:#666;padding:0 6px 4px}
.chart .chart-title{font-size:14px;font-weight:600}.chart text{font-size:11px;fill:#333}
.chart .grid{stroke:#eee}.chart .frame{fill:none;stroke:#999}.chart .axis-tick{stroke:#999}
.chart .no-data{fill:#999;font-size:14px}.legend-item{cursor:pointer;user-select:none}
.legend{font-size:12px;padding:2px 6px;display:flex;flex-wrap:wrap;gap:4px 14px}
.legend-item svg{margin-right:4px}.legend-item.off{opacity:.35}
ul.notes{font-size:13px;color:#8a5a00}
)";

/// Legend clicks toggle a run in every chart; `data-ready` tells a test
/// (and the reader of the DOM) that the script ran, `data-errors` lists
/// script errors.
const char* script = R"(
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    errors.push(String(e.message));
    document.body.setAttribute('data-errors', errors.join(' | '));
  });
  var hidden = {};
  function apply(run) {
    var off = !!hidden[run];
    document.querySelectorAll('.series.run-' + run).forEach(function (el) {
      el.style.display = off ? 'none' : '';
    });
    document.querySelectorAll('.legend-item.run-' + run).forEach(function (el) {
      el.classList.toggle('off', off);
    });
  }
  document.querySelectorAll('.legend-item').forEach(function (item) {
    item.addEventListener('click', function () {
      var run = item.getAttribute('data-run');
      hidden[run] = !hidden[run];
      apply(run);
    });
  });
  // '#selftest': click the first legend entry twice and check that its run
  // hides and comes back everywhere (the browser test reads the result).
  if (location.hash === '#selftest') {
    var first = document.querySelector('.legend-item');
    var result = 'no legend';
    if (first) {
      var series = document.querySelectorAll(
        '.series.run-' + first.getAttribute('data-run'));
      var all = function (display) {
        return Array.prototype.every.call(series, function (el) {
          return el.style.display === display;
        });
      };
      first.click();
      var hid = series.length > 0 && all('none');
      first.click();
      result = hid && all('') ? 'ok' : 'failed';
    }
    document.body.setAttribute('data-selftest', result);
  }
  document.body.setAttribute('data-charts',
    String(document.querySelectorAll('svg.chart').length));
  document.body.setAttribute('data-ready', 'true');
})();
)";

} // namespace

std::string html_report(const report_input& in) {
  const auto& runs = in.runs;
  std::vector<run_summary> rows;
  for (const auto& r : runs)
    rows.push_back(summarize(r, in.target_accuracy));
  std::string title = "fedactor report: ";
  for (size_t i = 0; i < runs.size(); ++i)
    title += (i ? ", " : "") + runs[i].label;
  std::string h = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width\">"
                  "<title>" + html_escape(title) + "</title><style>" + style
                  + "</style></head><body><h1>" + html_escape(title) + "</h1>";
  h += "<p class=\"meta\">";
  for (const auto& r : runs)
    h += html_escape(r.path) + " (" + html_escape(r.mode)
         + (r.command.empty() ? "" : ", fl-node " + html_escape(r.command))
         + ", " + std::to_string(r.points.size()) + " records)<br>";
  h += "</p><h2>Summary</h2>" + summary_table(rows, in.target_accuracy);
  if (!in.notes.empty()) {
    h += "<ul class=\"notes\">";
    for (const auto& n : in.notes)
      h += "<li>" + html_escape(n) + "</li>";
    h += "</ul>";
  }
  const field acc = [](const run_point& p) { return p.test_accuracy; };
  const field loss = [](const run_point& p) { return p.test_loss; };
  const std::string step = "round / model version";
  h += "<h2>Test accuracy and loss</h2><div class=\"grid-2\">";
  h += line_figure({"accuracy-by-round", "Test accuracy by round", step,
                    "accuracy"},
                   curves(runs, acc, false),
                   "Asynchronous runs are plotted by model version.");
  h += line_figure({"accuracy-by-time", "Test accuracy by wall time",
                    "seconds", "accuracy"},
                   curves(runs, acc, true), "Wall time since the run started.");
  h += line_figure({"loss-by-round", "Test loss by round", step, "loss"},
                   curves(runs, loss, false), "");
  h += line_figure({"loss-by-time", "Test loss by wall time", "seconds",
                    "loss"},
                   curves(runs, loss, true), "");
  h += "</div><h2>Participation, traffic and staleness</h2>"
       "<div class=\"grid-2\">";
  auto ok = curves(runs, [](const run_point& p) { return p.clients_ok; },
                   false, " ok");
  auto failed = curves(runs,
                       [](const run_point& p) { return p.clients_failed; },
                       false, " failed", true);
  ok.insert(ok.end(), failed.begin(), failed.end());
  h += line_figure({"participation", "Clients per round: ok and failed", step,
                    "clients / updates"},
                   ok,
                   "Sync: clients that answered (solid) and failed (dashed) "
                   "per round. Async: updates applied and dropped between "
                   "records.");
  h += line_figure({"bytes", "Traffic per round", step, "MB"},
                   curves(runs,
                          [](const run_point& p) -> std::optional<double> {
                            if (!p.bytes)
                              return std::nullopt;
                            return *p.bytes / 1e6;
                          },
                          false),
                   "Model bytes sent and received by the server per round.");
  std::vector<chart_series> stale;
  for (size_t i = 0; i < runs.size(); ++i) {
    chart_series s{runs[i].label + " (" + runs[i].mode + ")", i, {}, false};
    for (auto [k, v] : runs[i].staleness)
      s.xy.emplace_back(static_cast<double>(k), static_cast<double>(v));
    stale.push_back(std::move(s));
  }
  h += figure(bar_chart({"staleness", "Staleness of applied updates",
                         "staleness (versions)", "updates"},
                        stale),
              stale, "Asynchronous runs only.");
  bool gossip = false;
  for (const auto& r : runs)
    for (const auto& p : r.points)
      gossip |= p.consensus_distance.has_value();
  if (gossip)
    h += line_figure({"consensus", "Consensus distance", "round",
                      "mean distance to the average model"},
                     curves(runs,
                            [](const run_point& p) {
                              return p.consensus_distance;
                            },
                            false),
                     "Gossip runs: how far the peers' models are from "
                     "their average.");
  h += "</div>";
  if (in.partition) {
    const auto& t = *in.partition;
    // Clients across, classes down: a column per client.
    const size_t shown = std::min<size_t>(t.counts.size(), 300);
    std::vector<std::vector<uint64_t>> by_class(t.classes.size());
    for (size_t k = 0; k < t.classes.size(); ++k)
      for (size_t c = 0; c < shown; ++c)
        by_class[k].push_back(t.counts[c][k]);
    std::vector<std::string> classes;
    for (const auto& name : t.classes)
      classes.push_back(name.rfind("class_", 0) == 0 ? name.substr(6) : name);
    std::vector<std::string> clients(t.clients.begin(),
                                     t.clients.begin()
                                       + static_cast<std::ptrdiff_t>(shown));
    h += "<h2>Data partition</h2>"
         + figure(heat_map({"partition", "Samples per class (rows) per "
                                         "client (columns)",
                            "client", "class"},
                           classes, clients, by_class),
                  {},
                  (shown < t.counts.size()
                     ? "The first " + std::to_string(shown) + " of "
                         + std::to_string(t.counts.size()) + " clients"
                     : std::to_string(t.counts.size()) + " clients")
                    + "; the darker, the more samples.");
  }
  h += "<script>" + std::string{script} + "</script></body></html>\n";
  return h;
}

} // namespace fl::report
