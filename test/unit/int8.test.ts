import { describe, expect, it } from "@jest/globals";
import { parseInt8, pgTypeParsers } from "../../src/db/int8.js";

describe("reading int8", () => {
  it("gives a number while the value is a safe integer", () => {
    expect(parseInt8("0")).toBe(0);
    expect(parseInt8("-42")).toBe(-42);
    expect(parseInt8("9007199254740991")).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("gives a bigint past a safe integer, never a rounded number", () => {
    expect(parseInt8("9007199254740993")).toBe(9007199254740993n);
    expect(parseInt8("-9007199254740993")).toBe(-9007199254740993n);
  });

  it("leaves every other type to pg", () => {
    expect(pgTypeParsers.getTypeParser(20, "text")).toBe(parseInt8);
    expect(pgTypeParsers.getTypeParser(1700, "text")("1.50")).toBe("1.50");
    expect(pgTypeParsers.getTypeParser(23, "text")("7")).toBe(7);
  });
});
