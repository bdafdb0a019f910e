/**
 * Counters and histograms kept as plain numbers per label set and handed to prom-client only when Prometheus
 * scrapes. prom-client validates and hashes the labels of every `inc` and `observe` (about a microsecond each, five
 * per call); here an event costs a string key, a Map lookup and a few additions, and each label object is built
 * once, when its series first appears.
 */
import type { Metric, Registry, RegistryContentType } from 'prom-client';

/** A registry of either exposition format (Prometheus text or OpenMetrics). */
export type AnyRegistry = Registry<RegistryContentType>;

export type Labels = Record<string, string>;

export interface CounterSeries {
  readonly labels: Labels;
  value: number;
}

export interface HistogramSeries {
  readonly labels: Labels;
  /** Observations per bucket (not cumulative); the last is above every bound (+Inf). */
  readonly counts: number[];
  /** In milliseconds: whole numbers add up exactly, where seconds would drift (0.1 + 0.2). */
  sumMs: number;
  count: number;
}

export interface CounterTally {
  readonly series: Map<string, CounterSeries>;
}

/** Durations observed in milliseconds and exported in seconds, as Prometheus names them. */
export interface HistogramTally {
  /** In seconds, ascending. */
  readonly upperBounds: readonly number[];
  readonly upperBoundsMs: readonly number[];
  readonly series: Map<string, HistogramSeries>;
}

export function createCounterTally(): CounterTally {
  return { series: new Map() };
}

export function createHistogramTally(upperBoundsSeconds: readonly number[]): HistogramTally {
  const upperBounds = [...upperBoundsSeconds].sort((left, right) => left - right);
  return { upperBounds, upperBoundsMs: upperBounds.map((bound) => bound * 1000), series: new Map() };
}

/** Call sites look a series up by key and add it (with its labels) only when missing. */
export function addCounterSeries(tally: CounterTally, key: string, labels: Labels): CounterSeries {
  const series: CounterSeries = { labels, value: 0 };
  tally.series.set(key, series);
  return series;
}

export function addHistogramSeries(tally: HistogramTally, key: string, labels: Labels): HistogramSeries {
  const series: HistogramSeries = {
    labels,
    counts: new Array(tally.upperBounds.length + 1).fill(0),
    sumMs: 0,
    count: 0,
  };
  tally.series.set(key, series);
  return series;
}

export function observeMilliseconds(tally: HistogramTally, series: HistogramSeries, durationMs: number): void {
  if (!Number.isFinite(durationMs)) return;
  const bounds = tally.upperBoundsMs;
  let index = 0;
  while (index < bounds.length && durationMs > (bounds[index] as number)) index++;
  series.counts[index] = (series.counts[index] as number) + 1;
  series.sumMs += durationMs;
  series.count++;
}

interface ExportedValue {
  labels: Labels;
  value: number;
  /** A histogram's `_bucket`, `_sum`, `_count`; absent: the family's name. */
  metricName?: string;
}

function histogramValues(name: string, tally: HistogramTally): ExportedValue[] {
  const values: ExportedValue[] = [];
  for (const series of tally.series.values()) {
    let cumulative = 0;
    tally.upperBounds.forEach((bound, index) => {
      cumulative += series.counts[index] as number;
      values.push({ labels: { ...series.labels, le: String(bound) }, value: cumulative, metricName: `${name}_bucket` });
    });
    values.push({ labels: { ...series.labels, le: '+Inf' }, value: series.count, metricName: `${name}_bucket` });
    values.push({ labels: series.labels, value: series.sumMs / 1000, metricName: `${name}_sum` });
    values.push({ labels: series.labels, value: series.count, metricName: `${name}_count` });
  }
  return values;
}

interface Definition {
  name: string;
  help: string;
  labelNames: readonly string[];
}

/**
 * Registers an object that answers `get()` with the shape prom-client's own metrics give (`MetricObjectWithValues`,
 * what `registry.getMetricsAsJSON()` returns) and `reset()`: all the registry reads. `get` reads `this.name`, which
 * the registry rewrites for OpenMetrics counters (it appends `_total` itself).
 */
function register(
  registry: AnyRegistry,
  definition: Definition,
  type: 'counter' | 'histogram',
  values: (name: string) => ExportedValue[],
  reset: () => void,
): void {
  const metric = {
    name: definition.name,
    help: definition.help,
    type,
    aggregator: 'sum',
    labelNames: [...definition.labelNames],
    async get() {
      return { name: metric.name, help: metric.help, type, aggregator: 'sum', values: values(metric.name) };
    },
    reset,
  };
  registry.registerMetric(metric as unknown as Metric);
}

export function registerCounter(registry: AnyRegistry, definition: Definition, tally: CounterTally): void {
  register(
    registry,
    definition,
    'counter',
    () => [...tally.series.values()].map((series) => ({ labels: series.labels, value: series.value })),
    () => tally.series.clear(),
  );
}

export function registerHistogram(registry: AnyRegistry, definition: Definition, tally: HistogramTally): void {
  register(
    registry,
    definition,
    'histogram',
    (name) => histogramValues(name, tally),
    () => tally.series.clear(),
  );
}
