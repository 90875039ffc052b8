import { defineConfig } from 'vitest/config';

// Unit tests (*.test.ts) run in parallel with no engine; integration and e2e tests (*.itg.test.ts,
// *.e2e.test.ts) drive the real Docker engine, so they run one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['__tests__/**/*.test.ts'],
          exclude: ['__tests__/**/*.itg.test.ts', '__tests__/**/*.e2e.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['__tests__/**/*.itg.test.ts', '__tests__/**/*.e2e.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
