import t from 'tap';
import { countEntityMatches, exactScores, overlapScores, totalCounts } from '../../../src/redaction/eval/entityMatches.js';
import { countLeaks } from '../../../src/redaction/eval/leakCount.js';
import { latencyPercentile } from '../../../src/redaction/eval/latencyPercentile.js';
import { entrySimilarity, scoreSample, stringSimilarity } from '../../../src/redaction/eval/sampleScore.js';
import { summarizeSystem } from '../../../src/redaction/eval/summarizeSystem.js';
import type { SampleOutcome } from '../../../src/redaction/eval/evaluateSample.js';

const e = (string: string, pii_type: string) => ({ string, pii_type });
const truth = [e('John', 'FIRSTNAME'), e('Smith', 'LASTNAME'), e('john.smith@example.com', 'EMAIL')];

t.test('sample score: the hand-worked cases of redactor.md', async (t) => {
  t.equal(scoreSample(truth, truth), 1, 'a perfect answer scores 1');
  t.equal(scoreSample(truth, [...truth].reverse()), 1, 'order does not matter');
  t.equal(scoreSample(truth, [truth[0]]), 1 / 3, 'one of three found: 1/3');
  t.equal(scoreSample([], []), 1, 'nothing to find and nothing found');
  t.equal(scoreSample([], [e('Paris', 'CITY')]), 0, 'only a hallucination');
  t.equal(scoreSample(truth, []), 0, 'nothing found');
});

t.test('a middle name labelled as a first name scores high but below 1', async (t) => {
  const names = [e('Anna', 'FIRSTNAME'), e('Maria', 'MIDDLENAME'), e('Rossi', 'LASTNAME')];
  const answer = [e('Anna', 'FIRSTNAME'), e('Maria', 'FIRSTNAME'), e('Rossi', 'LASTNAME')];
  t.equal(entrySimilarity(names[1], answer[1]), 0.75, 'same string, other type: 0.75 × 1 + 0.25 × 0');
  // Anna vs Maria/FIRSTNAME: distance 3 of 5 → 0.75 × 0.4 + 0.25 = 0.55 could pair, but the
  // greedy pass has already given both entries better partners (1 and 0.75).
  t.equal(entrySimilarity(names[0], answer[1]), 0.55);
  t.equal(scoreSample(names, answer), (1 + 0.75 + 1) / 3);
  t.ok(scoreSample(names, answer) > 0.9 && scoreSample(names, answer) < 1);
});

t.test('hallucinated entries lower the score', async (t) => {
  const two = truth.slice(0, 2);
  t.equal(scoreSample(two, [...two, e('Paris', 'CITY')]), 2 / 3);
  t.equal(scoreSample(two, [...two, e('Paris', 'CITY'), e('42', 'AGE')]), 2 / 4);
  t.equal(scoreSample(two, [...two, ...two]), 1, 'a repeated entry is one entry');
});

t.test('near misses: boundaries earn partial credit, unrelated strings none', async (t) => {
  t.equal(stringSimilarity('Jean-Luc', 'Jean'), 0.5, 'distance 4 over 8');
  t.equal(scoreSample([e('Jean-Luc', 'FIRSTNAME')], [e('Jean', 'FIRSTNAME')]), 0.625);
  t.equal(stringSimilarity(' JOHN ', 'john'), 1, 'case and outer space are normalised away');
  // Bob/FIRSTNAME vs Zed/LASTNAME: similarity 0 < 0.5, so both stay unmatched: 0 / (1 + 1).
  t.equal(scoreSample([e('Bob', 'FIRSTNAME')], [e('Zed', 'LASTNAME')]), 0);
});

t.test('greedy pairing takes the most similar pair first', async (t) => {
  // Truth "Anne" could pair with either; the exact "Anne" wins it, "Ann" then goes to "Anna".
  const names = [e('Anna', 'FIRSTNAME'), e('Anne', 'FIRSTNAME')];
  const answer = [e('Ann', 'FIRSTNAME'), e('Anne', 'FIRSTNAME')];
  const annAnna = 0.75 * (1 - 1 / 4) + 0.25;
  t.equal(scoreSample(names, answer), (1 + annAnna) / 2);
});

t.test('entity precision and recall, exact and overlapping, per label', async (t) => {
  // "Call Anna Rossi at 555-1234 or Anna."
  const spans = [
    { start: 5, end: 9, label: 'FIRSTNAME' },
    { start: 10, end: 15, label: 'LASTNAME' },
    { start: 19, end: 27, label: 'PHONENUMBER' },
    { start: 31, end: 35, label: 'FIRSTNAME' },
  ];
  const predicted = [
    { start: 5, end: 9, label: 'FIRSTNAME' }, // exact
    { start: 31, end: 35, label: 'FIRSTNAME' }, // exact
    { start: 5, end: 15, label: 'LASTNAME' }, // "Anna Rossi" as a last name: overlaps the last name only
    { start: 22, end: 27, label: 'PHONENUMBER' }, // "-1234": overlapping, not exact
  ];
  const counts = countEntityMatches(spans, predicted, ['CITY']);
  t.same(counts.FIRSTNAME, { truth: 2, predicted: 2, exact: 2, overlapPredicted: 2, overlapTruth: 2 });
  t.same(counts.LASTNAME, { truth: 1, predicted: 1, exact: 0, overlapPredicted: 1, overlapTruth: 1 });
  t.same(counts.PHONENUMBER, { truth: 1, predicted: 1, exact: 0, overlapPredicted: 1, overlapTruth: 1 });
  t.same(counts.CITY, { truth: 0, predicted: 1, exact: 0, overlapPredicted: 0, overlapTruth: 0 }, 'a string not in the text is a false positive');
  const total = totalCounts(counts);
  t.same(exactScores(total), { precision: 2 / 5, recall: 2 / 4, f1: (2 * 0.4 * 0.5) / 0.9 });
  t.same(overlapScores(total), { precision: 4 / 5, recall: 4 / 4, f1: (2 * 0.8 * 1) / 1.8 });
  t.same(exactScores(counts.CITY), { precision: 0, recall: 0, f1: 0 }, 'zero where a denominator is zero');
});

t.test('leaks: true strings the redacted text still shows, not innocent copies', async (t) => {
  const text = 'Deliver 5 items to 5 Elm Street, Paris.';
  const mask = [
    { value: '5', start: 19, end: 20, label: 'BUILDINGNUMBER' },
    { value: 'Elm Street', start: 21, end: 31, label: 'STREET' },
    { value: 'Paris', start: 33, end: 38, label: 'CITY' },
  ];
  t.same(countLeaks(text, mask, 'Deliver 5 items to [BUILDINGNUMBER] [STREET], [CITY].'), { trueStrings: 3, leaked: 0 });
  t.same(countLeaks(text, mask, 'Deliver 5 items to 5 [STREET], Paris.'), { trueStrings: 3, leaked: 2 });
  t.same(countLeaks(text, mask, 'Deliver 5 items to [BUILDINGNUMBER] Elm Street, [CITY].'), { trueStrings: 3, leaked: 1 }, 'a missed entity leaks');
  t.same(countLeaks(text, mask, 'Deliver 5 items to [BUILDINGNUMBER] Elm [STREET], [CITY].'), { trueStrings: 3, leaked: 0 }, 'a string cut by a redaction no longer reads whole');
});

t.test('latency percentiles are nearest-rank', async (t) => {
  const tens = [100, 20, 30, 40, 50, 60, 70, 80, 90, 10];
  t.equal(latencyPercentile(tens, 50), 50);
  t.equal(latencyPercentile(tens, 95), 100);
  t.equal(latencyPercentile(Array.from({ length: 20 }, (_, i) => i + 1), 95), 19);
  t.equal(latencyPercentile([], 50), null);
});

t.test('a system summary adds samples up; invalid calls score 0 and do not count towards leaks', async (t) => {
  const outcome = (o: Partial<SampleOutcome>): SampleOutcome => ({
    index: 0, failure: null, latencyMs: 100, promptTokens: 1000, completionTokens: 50, score: 1, counts: {}, leaks: { trueStrings: 2, leaked: 0 }, ...o,
  });
  const outcomes = [
    outcome({ latencyMs: 100, counts: { CITY: { truth: 1, predicted: 1, exact: 1, overlapPredicted: 1, overlapTruth: 1 } } }),
    outcome({ latencyMs: 300, score: 0.5, leaks: { trueStrings: 2, leaked: 1 }, counts: { CITY: { truth: 1, predicted: 0, exact: 0, overlapPredicted: 0, overlapTruth: 0 } } }),
    outcome({ latencyMs: 200, failure: 'malformed', score: 0, leaks: null, completionTokens: 10 }),
  ];
  const report = summarizeSystem({ name: 'x', endpoint: 'http://127.0.0.1/v1', model: 'm', lora: [], pricePerMillionTokens: 2 }, outcomes);
  t.equal(report.score, 0.5);
  t.equal(report.invalidCalls, 1);
  t.equal(report.invalidRate, 1 / 3);
  t.same(report.failures, { malformed: 1 });
  t.equal(report.leakRate, 1 / 4);
  t.same(report.exact, { precision: 1, recall: 0.5, f1: 2 / 3 });
  t.same(report.labels.map((l) => l.label), ['CITY']);
  t.same([report.latencyMs.p50, report.latencyMs.p95], [200, 300]);
  t.same(report.tokens, { prompt: 3000, completion: 110, total: 3110, meanPerSample: 3110 / 3 });
  t.equal(report.costUsd, (3110 * 2) / 1e6);
});
