import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          // Pulumi's runtime state is per process: each test file gets its own.
          pool: "forks",
          testTimeout: 60_000,
          // Some files start the real engine in beforeAll; on a loaded 2-core machine that can take a while.
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          pool: "forks",
          // One real engine, one Docker daemon, one local stack: run the files one after the other.
          fileParallelism: false,
          sequence: { concurrent: false },
          testTimeout: 15 * 60_000,
          hookTimeout: 20 * 60_000,
        },
      },
    ],
  },
});
