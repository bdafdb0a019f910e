import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  expectVector,
  findSharedVectorsPath,
  loadVectors,
  ownVectorFiles,
  vendoredSharedPath,
} from './vector-runner.js';

const sharedPath = findSharedVectorsPath();

describe('shared provider vectors', () => {
  // The project's shared file is the source of truth; the vendored copy lets a fresh clone run the same checks.
  const vectors = loadVectors(sharedPath ?? vendoredSharedPath);

  it('has vectors to check', () => {
    expect(vectors.length).toBeGreaterThan(50);
  });

  it.each(vectors.map((vector) => [vector.id, vector] as const))('%s', (_id, vector) => {
    expectVector(vector);
  });

  // Compared as data: the formatter may lay out the vendored copy differently.
  it.skipIf(sharedPath === null)('the vendored copy holds the same vectors as the shared file', () => {
    expect(loadVectors(vendoredSharedPath)).toEqual(loadVectors(sharedPath!));
  });
});

for (const file of ownVectorFiles()) {
  describe(`own vectors: ${basename(file)}`, () => {
    const vectors = loadVectors(file);
    it.each(vectors.map((vector) => [vector.id, vector] as const))('%s', (_id, vector) => {
      expectVector(vector);
    });
  });
}
