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
          // Not vitest's 5 s: on a loaded 2-core machine a unit test that takes 0.3 s idle took 10 s (two busy
          // loops and other jobs beside it). A timeout catches a hang; it must not measure the machine.
          testTimeout: 60_000,
          hookTimeout: 60_000,
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
