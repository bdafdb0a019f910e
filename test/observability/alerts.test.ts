import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics } from '../../src/observability/metrics.js';
import { CallFailedError } from '../../src/pipeline/errors.js';

/** The example rules must speak of metrics and labels Sluice really exports (a renamed metric breaks them silently). */
interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: string };
  annotations: { summary: string; description?: string };
}

const file = parse(readFileSync(new URL('../../examples/prometheus-alerts.yml', import.meta.url), 'utf8')) as {
  groups: Array<{ name: string; rules: Rule[] }>;
};
const rules = file.groups.flatMap((group) => group.rules);
const { registry } = createMetrics();

const SELECTOR = /\b(sluice_[a-z_]+)(?:\{([^}]*)\})?/g;
const MATCHER = /([a-z_]+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g;
const GROUPING = /\b(?:by|on|without|ignoring)\s*\(([^)]*)\)/g;

function metricOf(name: string) {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return registry.getSingleMetric(name) ?? registry.getSingleMetric(base);
}

describe('examples/prometheus-alerts.yml', () => {
  it('covers the budget, waste, breaker and queue', () => {
    const names = rules.map((rule) => rule.alert);
    for (const expected of [
      'SluiceBudgetNearlyExhausted',
      'SluiceUpstreamRejectionsRising',
      'SluiceBreakerOpen',
      'SluiceQueueSaturated',
    ]) {
      expect(names).toContain(expected);
    }
    expect(new Set(names).size).toBe(names.length);
  });

  it('gives every rule an expression, a duration, a severity and a summary', () => {
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^Sluice[A-Za-z]+$/);
      expect(rule.expr.trim()).not.toBe('');
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      expect(rule.annotations.summary).toBeTruthy();
      // Balanced brackets: the cheapest syntax check without promtool.
      for (const [open, close] of ['()', '{}', '[]']) {
        expect(rule.expr.split(open as string).length, rule.alert).toBe(rule.expr.split(close as string).length);
      }
    }
  });

  it('uses only metrics Sluice exports, with their labels and real label values', () => {
    for (const rule of rules) {
      const selectors = [...rule.expr.matchAll(SELECTOR)];
      expect(selectors.length, rule.alert).toBeGreaterThan(0);
      const labelsSeen = new Set<string>();
      for (const [, name, matchers] of selectors) {
        const metric = metricOf(name as string) as unknown as { labelNames: string[] } | undefined;
        expect(metric, `${rule.alert} uses ${name}, which Sluice does not export`).toBeDefined();
        for (const label of metric?.labelNames ?? []) labelsSeen.add(label);
        for (const [, label, , value] of (matchers ?? '').matchAll(MATCHER)) {
          expect(metric?.labelNames, `${rule.alert}: ${name} has no label ${label}`).toContain(label);
          if (label === 'by') expect(['upstream', 'sluice']).toContain(value);
          // Only a known reason has a status.
          if (label === 'reason') expect(new CallFailedError(value as never, 'api', '').status, value).toBeDefined();
          if (label === 'state')
            for (const state of (value as string).split('|')) {
              expect(['closed', 'open', 'half-open', 'disabled']).toContain(state);
            }
        }
      }
      for (const [, labels] of rule.expr.matchAll(GROUPING)) {
        for (const label of (labels as string).split(',').map((part) => part.trim())) {
          expect(labelsSeen, `${rule.alert} groups by ${label}`).toContain(label);
        }
      }
    }
  });
});
