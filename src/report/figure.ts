// Figures: Vega-Lite specs rendered headless to SVG with vega + vega-lite (no browser, no canvas):
// vl.compile(spec).spec → new vega.View(vega.parse(vgSpec), { renderer: 'none' }).toSVG().
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { SpillwayError } from '../errors.js';

export type VegaLiteSpec = TopLevelSpec;

/** Renders a Vega-Lite spec (with inline data) to a standalone SVG document string. */
export async function renderVegaLiteToSvg(spec: VegaLiteSpec, options: { id?: string } = {}): Promise<string> {
  let view: vega.View | undefined;
  try {
    const vgSpec = compile(spec).spec;
    view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logLevel: vega.Error });
    return await view.toSVG();
  } catch (error) {
    throw new SpillwayError('stageFailed', `figure ${options.id ? `"${options.id}" ` : ''}could not be rendered: ${(error as Error).message}`, {
      expected: 'a valid Vega-Lite v6 spec with inline data (data.values)',
      context: { figure: options.id },
    }, { cause: error });
  } finally {
    view?.finalize();
  }
}
