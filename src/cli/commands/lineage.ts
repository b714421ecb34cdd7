// Placeholder until the command is built; see the open issues.
import { SpillwayError } from '../../errors.js';

export async function main(_argv: string[]): Promise<number> {
  throw new SpillwayError('usage', 'spillway lineage is not implemented yet');
}
