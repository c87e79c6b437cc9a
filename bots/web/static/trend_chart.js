// A topic's trend as an SVG: the negative share per bucket as a line above, volume and negatives as
// bars below, and the buckets that raised an alert marked in red. Drawn by hand: the page needs no
// charting library (and no network to fetch one).

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 1000;
const HEIGHT = 340;
const PAD = { left: 48, right: 12, top: 14, bottom: 36 };
const SHARE_HEIGHT = 150;
const GAP = 24;
const COLOURS = { line: "#1d3557", volume: "#a8b6c8", negatives: "#1d3557", alert: "#c0392b", grid: "#e3e7ec", text: "#5f6b7a" };

export function trendChart(points, alertStarts = new Set()) {
  const svg = node("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img" });
  if (points.length === 0) return svg;
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const step = plotWidth / points.length;
  const x = (i) => PAD.left + step * (i + 0.5);
  const shareTop = PAD.top;
  const volumeTop = shareTop + SHARE_HEIGHT + GAP;
  const volumeHeight = HEIGHT - PAD.bottom - volumeTop;
  const maxVolume = Math.max(...points.map((p) => p.volume), 1);
  const shareY = (share) => shareTop + SHARE_HEIGHT * (1 - share);
  const volumeY = (count) => volumeTop + volumeHeight * (1 - count / maxVolume);

  for (const share of [0, 0.5, 1]) {
    svg.append(node("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: shareY(share), y2: shareY(share), stroke: COLOURS.grid }));
    svg.append(label(PAD.left - 6, shareY(share) + 4, `${share * 100}%`, "end"));
  }
  svg.append(label(PAD.left - 6, volumeTop + 10, String(maxVolume), "end"));
  svg.append(label(PAD.left - 6, volumeTop + volumeHeight, "0", "end"));

  points.forEach((point, i) => {
    const alerted = alertStarts.has(Date.parse(point.bucket_start));
    const width = Math.max(step * 0.8, 1);
    const volumeBar = node("rect", {
      x: x(i) - width / 2, width, y: volumeY(point.volume), height: volumeTop + volumeHeight - volumeY(point.volume), fill: COLOURS.volume,
    });
    volumeBar.append(node("title", {}, `${point.bucket_start}: ${point.volume} items, ${point.negatives} negative (${(point.negative_share * 100).toFixed(0)}%)`));
    svg.append(volumeBar);
    svg.append(node("rect", {
      x: x(i) - width / 2, width, y: volumeY(point.negatives), height: volumeTop + volumeHeight - volumeY(point.negatives),
      fill: alerted ? COLOURS.alert : COLOURS.negatives, "pointer-events": "none",
    }));
    if (alerted) {
      svg.append(node("line", { x1: x(i), x2: x(i), y1: shareTop, y2: shareTop + SHARE_HEIGHT, stroke: COLOURS.alert, "stroke-dasharray": "4 3", class: "alert-mark" }));
    }
  });

  const line = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${shareY(p.negative_share).toFixed(1)}`).join(" ");
  svg.append(node("path", { d: line, fill: "none", stroke: COLOURS.line, "stroke-width": 1.6 }));
  svg.append(label(PAD.left, shareTop - 2, "negative share", "start"));
  svg.append(label(PAD.left, volumeTop - 6, "items (dark: negative)", "start"));

  const ticks = Math.min(6, points.length);
  for (let t = 0; t < ticks; t += 1) {
    const i = Math.round((t * (points.length - 1)) / Math.max(ticks - 1, 1));
    const anchor = t === 0 ? "start" : t === ticks - 1 ? "end" : "middle";
    svg.append(label(x(i), HEIGHT - PAD.bottom + 16, shortTime(points[i].bucket_start), anchor));
  }
  return svg;
}

function shortTime(iso) {
  return new Date(iso).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
}

function label(x, y, text, anchor) {
  return node("text", { x, y, "text-anchor": anchor, "font-size": 12, fill: COLOURS.text }, text);
}

function node(tag, attributes, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}
