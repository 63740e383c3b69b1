// layout-check.js - t7001 loads the HTML report into an iframe of the width under test
// (headless Chromium's window is at least 500 px wide) and runs check() on it with
// --dump-dom: the findings go into a pre element with the id layout-check, one
// "FAIL ..." line per problem and a last "checked ..." line. It fails on SVG text
// rendered below 11 px, text overlapping other text or cut off by its chart, axis
// ticks outside what the quantity can be (data-lo/data-hi of the axis), and a page
// wider than the window (something cut off instead of scrolling in its box).
function check(win) {
  var document = win.document, getComputedStyle = win.getComputedStyle.bind(win);
  var out = [], texts = 0, ticks = 0;
  function fail(s) { out.push('FAIL ' + win.innerWidth + 'px: ' + s); }
  function visible(r) { return r.width > 0 && r.height > 0; }
  var svgs = document.querySelectorAll('svg[viewBox]');
  svgs.forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    if (!visible(box) || !svg.viewBox.baseVal || !svg.viewBox.baseVal.width) return;
    var scale = box.width / svg.viewBox.baseVal.width, rects = [];
    svg.querySelectorAll('text').forEach(function (t) {
      var r = t.getBoundingClientRect(), what = JSON.stringify(t.textContent.slice(0, 40));
      if (!visible(r)) return;
      texts++;
      var px = parseFloat(getComputedStyle(t).fontSize) * scale;
      if (px < 10.95) fail('text ' + what + ' renders at ' + px.toFixed(1) + ' px');
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 ||
          r.bottom > box.bottom + 1) fail('text ' + what + ' is cut off by its chart');
      rects.forEach(function (o) {
        var w = Math.min(r.right, o.r.right) - Math.max(r.left, o.r.left);
        var h = Math.min(r.bottom, o.r.bottom) - Math.max(r.top, o.r.top);
        if (w > 1 && h > 1) fail('text ' + what + ' overlaps ' + o.what);
      });
      rects.push({ r: r, what: what });
    });
    svg.querySelectorAll('[data-lo] text[data-v]').forEach(function (t) {
      var g = t.closest('[data-lo]'), v = parseFloat(t.getAttribute('data-v'));
      var lo = parseFloat(g.getAttribute('data-lo')), hi = parseFloat(g.getAttribute('data-hi'));
      ticks++;
      if (!(v >= lo - 1e-9 && v <= hi + 1e-9)) fail('tick ' + v + ' outside [' + lo + ', ' + hi + ']');
      if (parseFloat(t.textContent) !== v) fail('tick label ' + t.textContent + ' is not ' + v);
    });
  });
  var page = document.documentElement.scrollWidth;
  if (page > win.innerWidth + 1) fail('the page is ' + page + ' px wide: something does not scroll in its box');
  document.querySelectorAll('table').forEach(function (t) {
    var p = t.parentElement;
    if (t.scrollWidth > p.clientWidth + 1 && getComputedStyle(p).overflowX !== 'auto')
      fail('a table ' + t.scrollWidth + ' px wide sits in a box that does not scroll');
  });
  var pre = window.document.createElement('pre');
  pre.id = 'layout-check';
  out.push('checked ' + texts + ' texts, ' + ticks + ' ticks at ' + win.innerWidth + ' px');
  pre.textContent = out.join('\n');
  window.document.body.appendChild(pre);
}
