import { describe, expect, test } from "vitest";
import { dockerCpus, goDuration } from "../../fleet/dockerFormat";

describe("values as the Docker provider reads them back", () => {
  test.each([
    [1, "1.0"],
    [2, "2.0"],
    [0.5, "0.5"],
    [1.25, "1.25"],
    [0.1, "0.1"],
    [16, "16.0"],
    [10, "10."], // the provider's own rounding quirk, reproduced so there is no perpetual diff
    [20, "20."],
    [1.05, "1.05"],
  ])("cpus %s -> %s", (cpus, text) => expect(dockerCpus(cpus)).toBe(text));

  test.each([
    [5, "5s"],
    [45, "45s"],
    [60, "1m0s"],
    [90, "1m30s"],
    [3600, "1h0m0s"],
  ])("duration %ss -> %s", (seconds, text) => expect(goDuration(seconds)).toBe(text));
});
