// Small SVG charts drawn by hand: bars per interval, and a line of a ratio over the day.
// Each chart is an image with a text alternative that says what it shows.

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  el.append(...children);
  return el;
}

function frame(width, height, label) {
  return svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "chart" }, svg("title", {}, label));
}

function hourLabel(start) {
  return new Date(start * 1000).toISOString().slice(11, 16);
}

/** Grouped bars: one group per interval (`rows`: {start, ...}), one bar per series key. */
export function barChart(rows, series, { width = 560, height = 180, label }) {
  const chart = frame(width, height, label);
  const pad = { left: 30, right: 8, top: 8, bottom: 22 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const top = Math.max(1, ...rows.flatMap((r) => series.map((s) => r[s.key] ?? 0)));
  const slot = rows.length ? plotW / rows.length : plotW;
  const bar = Math.max(1, (slot * 0.8) / series.length);
  chart.append(svg("line", { x1: pad.left, y1: pad.top + plotH, x2: width - pad.right, y2: pad.top + plotH, class: "axis" }));
  chart.append(svg("text", { x: pad.left - 4, y: pad.top + 8, class: "tick", "text-anchor": "end" }, String(top)));
  rows.forEach((row, i) => {
    series.forEach((s, j) => {
      const value = row[s.key] ?? 0;
      const h = (value / top) * plotH;
      chart.append(
        svg("rect", { x: pad.left + i * slot + j * bar, y: pad.top + plotH - h, width: bar, height: h, class: `bar ${s.className}` }, svg("title", {}, `${hourLabel(row.start)} ${s.label}: ${value}`)),
      );
    });
    if (rows.length <= 12 || i % Math.ceil(rows.length / 8) === 0) {
      chart.append(svg("text", { x: pad.left + i * slot, y: height - 6, class: "tick" }, hourLabel(row.start)));
    }
  });
  return chart;
}

/** A line of a ratio (0 to 1) per interval; intervals without a value leave a gap. */
export function ratioChart(rows, key, { width = 560, height = 140, label, target = null }) {
  const chart = frame(width, height, label);
  const pad = { left: 34, right: 16, top: 8, bottom: 22 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const x = (i) => pad.left + (rows.length > 1 ? (i * plotW) / (rows.length - 1) : plotW / 2);
  const y = (v) => pad.top + plotH - v * plotH;
  chart.append(svg("line", { x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0), class: "axis" }));
  chart.append(svg("text", { x: pad.left - 4, y: y(1) + 8, class: "tick", "text-anchor": "end" }, "100%"));
  chart.append(svg("text", { x: pad.left - 4, y: y(0), class: "tick", "text-anchor": "end" }, "0%"));
  if (target !== null) {
    chart.append(svg("line", { x1: pad.left, y1: y(target), x2: width - pad.right, y2: y(target), class: "target" }));
  }
  let path = "";
  rows.forEach((row, i) => {
    if (rows.length <= 12 || i % Math.ceil(rows.length / 8) === 0) {
      chart.append(svg("text", { x: x(i), y: height - 6, class: "tick", "text-anchor": "middle" }, hourLabel(row.start)));
    }
    const value = row[key];
    if (value === null || value === undefined) {
      path += " ";
      return;
    }
    path += `${path.endsWith(" ") || path === "" ? "M" : "L"}${x(i).toFixed(1)},${y(value).toFixed(1)}`;
    chart.append(svg("circle", { cx: x(i), cy: y(value), r: 2.5, class: "point" }, svg("title", {}, `${hourLabel(row.start)}: ${Math.round(value * 100)}%`)));
  });
  chart.append(svg("path", { d: path.trim() || "M0,0", class: "line" }));
  return chart;
}
