/** Prints what a scenario measured when CHAOS_FIGURES=1 (npm run test:chaos sets it), one line per scenario. */
export function reportFigures(scenario: string, figures: Record<string, number | string | boolean>): void {
  if (process.env.CHAOS_FIGURES !== "1") return;
  console.log(`figures ${scenario}: ${JSON.stringify(figures)}`);
}
