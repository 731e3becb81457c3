import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDuration, levelOf, PEAKS, peaksOf, validPeaks } from "./waveform.js";

test("peaks follow the loudness of each stretch, scaled to the loudest", () => {
  const samples = new Float32Array(1000);
  for (let i = 0; i < 1000; i++) samples[i] = (i < 500 ? 0.1 : 0.4) * Math.sin(i);
  const peaks = peaksOf(samples, 10);
  assert.equal(peaks.length, 10);
  assert.ok(
    peaks.slice(5).every((p) => p > 240),
    `${peaks}`,
  );
  assert.ok(
    peaks.slice(0, 5).every((p) => p > 50 && p < 70),
    `${peaks}`,
  );
});

test("a long recording gives at most PEAKS values, each a byte", () => {
  const samples = Float32Array.from({ length: 48_000 * 3 }, (_, i) => Math.sin(i / 10) * (i % 7) * 0.1);
  const peaks = peaksOf(samples);
  assert.equal(peaks.length, PEAKS);
  assert.ok(peaks.every((p) => Number.isInteger(p) && p >= 0 && p <= 255));
  assert.deepEqual(validPeaks(peaks), peaks);
});

test("silence is flat, and a recording shorter than the count gives one value per sample", () => {
  assert.deepEqual(peaksOf(new Float32Array(500), 5), [0, 0, 0, 0, 0]);
  assert.deepEqual(peaksOf(Float32Array.from([0.5, -1]), 10), [128, 255]);
  assert.deepEqual(peaksOf(new Float32Array(0)), []);
  assert.throws(() => peaksOf(new Float32Array(4), 0), RangeError);
});

test("the live level is 0 for silence and grows with the signal", () => {
  assert.equal(levelOf(new Uint8Array(64).fill(128)), 0);
  assert.equal(levelOf(new Uint8Array(0)), 0);
  const quiet = levelOf(Uint8Array.from({ length: 64 }, (_, i) => (i % 2 ? 138 : 118)));
  const loud = levelOf(Uint8Array.from({ length: 64 }, (_, i) => (i % 2 ? 250 : 6)));
  assert.ok(quiet > 0 && quiet < loud && loud <= 1);
});

test("received peaks that are not a short list of bytes are dropped", () => {
  assert.equal(validPeaks("0,1"), undefined);
  assert.equal(validPeaks([]), undefined);
  assert.equal(validPeaks([1, 256]), undefined);
  assert.equal(validPeaks([1.5]), undefined);
  assert.equal(validPeaks(new Array(PEAKS + 1).fill(1)), undefined);
});

test("durations read as minutes and seconds", () => {
  assert.equal(formatDuration(0), "0:00");
  assert.equal(formatDuration(6_600), "0:07");
  assert.equal(formatDuration(65_000), "1:05");
  assert.equal(formatDuration(720_000), "12:00");
  assert.equal(formatDuration(-5), "0:00");
});
