/**
 * Turns zod's issues into problems a person can act on: one per unknown key (each with its own path), the most
 * plausible branch of a union instead of every branch's complaint, and record keys reported at the key.
 */
import type { z } from 'zod';
import type { ConfigPath, PathProblem } from './problems.js';

type Issue = z.core.$ZodIssue;

/**
 * How far into the value a branch of a union got before failing: a branch whose complaints are deep inside the value
 * matched its shape, so its complaints are the useful ones. A missing key counts at its parent's depth, and unknown
 * keys count nothing: both also appear when the value was meant for another branch.
 */
function depthReached(issues: readonly Issue[]): number {
  let deepest = 0;
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') continue;
    const missing = issue.code === 'invalid_type' && issue.input === undefined;
    deepest = Math.max(deepest, issue.path.length - (missing ? 1 : 0));
  }
  return deepest;
}

export function problemsFromIssues(issues: readonly Issue[], prefix: ConfigPath = []): PathProblem[] {
  return issues.flatMap((issue) => problemsFromIssue(issue, prefix));
}

function problemsFromIssue(issue: Issue, prefix: ConfigPath): PathProblem[] {
  const segments: ConfigPath = [...prefix, ...(issue.path as Array<string | number>)];
  switch (issue.code) {
    case 'unrecognized_keys': {
      // Messages come one line per key from unknownKeysMessage; fall back to a plain one if they do not line up.
      const lines = issue.message.split('\n');
      return issue.keys.map((key, index) => ({
        segments: [...segments, key],
        message: lines.length === issue.keys.length ? (lines[index] as string) : 'unknown option',
      }));
    }
    case 'invalid_union': {
      let best: readonly Issue[] | undefined;
      let bestDepth = 0;
      for (const branch of issue.errors) {
        const depth = depthReached(branch);
        if (depth > bestDepth) {
          bestDepth = depth;
          best = branch;
        }
      }
      return best ? problemsFromIssues(best, segments) : [{ segments, message: issue.message }];
    }
    case 'invalid_key': {
      const inner = issue.issues[0];
      return [{ segments, message: inner ? inner.message : issue.message }];
    }
    default:
      return [{ segments, message: issue.message }];
  }
}
