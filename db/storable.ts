/**
 * Text the governance record can always store. PostgreSQL refuses a NUL character in TEXT and
 * a NUL or a lone surrogate in JSONB; one such character in a model's output, a test's output
 * or a PRD must never stall governance (an insert that fails is retried, and fails again).
 * NUL becomes "␀" (U+2400, visible), a lone surrogate "�": the record stays readable, and the
 * evidence hashes, taken before storage, still name the original bytes.
 */
import {
  OperationNodeTransformer,
  PrimitiveValueListNode,
  ValueNode,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';

const NUL = /\u0000/g;

export function storableText(s: string): string {
  const wellFormed = (s as string & { toWellFormed(): string }).toWellFormed();
  return wellFormed.includes('\u0000') ? wellFormed.replace(NUL, '\u2400') : wellFormed;
}

/** JSON for a JSONB column: every string in it storable. */
export function storableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? storableText(v) : v));
}

function clean(value: unknown): unknown {
  return typeof value === 'string' ? storableText(value) : value;
}

class StorableValues extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode): ValueNode {
    return typeof node.value === 'string' ? { ...node, value: storableText(node.value) } : node;
  }
  protected override transformPrimitiveValueList(node: PrimitiveValueListNode): PrimitiveValueListNode {
    return node.values.some((v) => typeof v === 'string') ? { ...node, values: node.values.map(clean) } : node;
  }
}

/** Makes every string parameter of every query storable (TEXT columns; JSONB via storableJson). */
export class StorableTextPlugin implements KyselyPlugin {
  private readonly transformer = new StorableValues();
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.transformer.transformNode(args.node);
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
