// The dashboard's pure modules, under Node's own test runner (no package): how numbers, times,
// statuses and addresses are written, and the trend's axis.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DASH, days, dossierStatus, duration, feedbackStatus, num, percent, signed, signedDays, trend,
} from "../../services/api/dashboard/static/js/format.js";
import { href } from "../../services/api/dashboard/static/js/route.js";
import { ddmm, historyPeriod, ticks } from "../../services/api/dashboard/static/js/trend.js";

test("a missing value is a dash, never 0", () => {
  for (const missing of [null, undefined, Number.NaN]) {
    assert.equal(num(missing), DASH);
    assert.equal(percent(missing), DASH);
    assert.equal(signed(missing), DASH);
    assert.equal(days(missing), DASH);
    assert.equal(duration(missing), DASH);
  }
  assert.equal(num(0), "0");
  assert.equal(signed(0), "0");
});

test("numbers are written the Vietnamese way, with at most two decimals", () => {
  assert.equal(num(1234.567), "1.234,57");
  assert.equal(percent(83.333), "83,33 %");
  assert.equal(signed(1.5), "+1,5");
  assert.equal(signed(-2), "−2");
  assert.equal(trend(-0.1), "down");
  assert.equal(trend(0), "flat");
});

test("2.2's sum of seconds is written in days, as its average", () => {
  assert.equal(days(86_400 * 1.5), "1,5 ngày");
  assert.equal(days(3_600), "0,04 ngày");
  assert.equal(signedDays(104_400), "+1,21 ngày");
  assert.equal(signedDays(-86_400), "−1 ngày");
});

test("a duration names its largest units", () => {
  assert.equal(duration(59), "0 phút");
  assert.equal(duration(7_140), "1 giờ 59 phút");
  assert.equal(duration(90_000), "1 ngày 1 giờ");
});

test("statuses are the national names; an unknown one is shown as sent", () => {
  assert.equal(dossierStatus("RECEIVED"), "Được tiếp nhận");
  assert.equal(dossierStatus("RESULT_RETURNED"), "Đã trả kết quả");
  assert.equal(feedbackStatus("PUBLISHED"), "Đã công khai");
  assert.equal(dossierStatus("NEW_IN_2027"), "NEW_IN_2027");
  assert.equal(dossierStatus(null), DASH);
});

test("addresses inside the page drop empty filters and escape segments", () => {
  assert.equal(href("unit", ["so tư pháp"], { period: "week", q: "", x: null }), "#/unit/so%20t%C6%B0%20ph%C3%A1p?period=week");
  assert.equal(href("", [], {}), "#/");
});

test("the trend's period: a kind or a key as it is, a range of days as the month", () => {
  assert.equal(historyPeriod("week"), "week");
  assert.equal(historyPeriod("2026-11"), "2026-11");
  assert.equal(historyPeriod("2026-11-01..2026-11-20"), "month");
  assert.equal(ddmm("2026-11-24"), "24/11");
});

test("the trend's axis: round steps covering the values", () => {
  assert.deepEqual(ticks(28.3, 37.2), [25, 30, 35, 40]);
  const ranks = ticks(1, 2, 4, true);
  assert.ok(ranks.every(Number.isInteger));
  for (const [low, high] of [[0, 100], [12.5, 13.4], [-3, 7], [0.01, 0.05]]) {
    const axis = ticks(low, high);
    assert.ok(axis[0] <= low && axis.at(-1) >= high, `${low}..${high}: ${axis}`);
    assert.ok(axis.length >= 2 && axis.length <= 12, `${low}..${high}: ${axis}`);
  }
});
