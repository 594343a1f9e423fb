/**
 * Static check that the protocol core (src/core) stays pure and synchronous
 * (docs/DESIGN.md, layers): it may import only modules inside src/core and
 * must not reach the clock, randomness, timers, I/O or the process through
 * globals. It catches accidents, not a determined evader (`const M = Math;
 * M.random()` passes).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, sep } from 'node:path';
import ts from 'typescript';

export interface Violation {
  /** For `purityViolations`, relative to the repository root; else the name given. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly offence: string;
}

export const formatViolation = (v: Violation): string => `${v.file}:${v.line}: ${v.offence}`;

/** Globals through which code reaches the world; `global` is Node's alias of `globalThis`. */
const WORLD_GLOBALS: ReadonlySet<string> = new Set([
  'Date', 'performance', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval',
  'clearImmediate', 'queueMicrotask', 'process', 'crypto', 'fetch', 'require', 'globalThis', 'global',
  'console', 'WebAssembly', 'SharedArrayBuffer', 'Atomics', 'Buffer',
]);

/** Checks every .ts file under `<root>/src/core`, subdirectories included. */
export function purityViolations(root: string): Violation[] {
  const coreDir = join(root, 'src', 'core');
  const names = readdirSync(coreDir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .sort();
  // An empty scan would pass vacuously, e.g. when the root is wrong.
  if (names.length === 0) throw new Error(`no .ts sources under ${coreDir}`);
  // Keys are posix paths (readdir gives the platform's separators), as violationsIn resolves imports with posix rules.
  const sources = new Map(names.map((name) => [name.split(sep).join('/'), readFileSync(join(coreDir, name), 'utf8')]));
  return violationsIn(sources).map((v) => ({ ...v, file: `src/core/${v.file}` }));
}

/** Checks one source text; `fileName` is its path relative to src/core (e.g. `clock.ts`). */
export function sourceViolations(fileName: string, text: string): Violation[] {
  return violationsIn(new Map([[fileName, text]]));
}

/** `sources` maps paths relative to src/core to their text. */
function violationsIn(sources: ReadonlyMap<string, string>): Violation[] {
  // Files live under a virtual /core so that resolving a specifier shows whether it leaves the core.
  const virtual = new Map([...sources].map(([name, text]) => [posix.join('/core', name), text]));
  const options: ts.CompilerOptions = {
    // No lib and no @types: a global name then resolves to no symbol at all, or only to
    // ambient declarations, while a local one resolves to its declaration in the file.
    noLib: true,
    types: [],
    noResolve: true,
    // Every file is an ES module, as at run time: one file's top-level names do not shadow globals in another.
    moduleDetection: ts.ModuleDetectionKind.Force,
    target: ts.ScriptTarget.ES2022,
  };
  const host: ts.CompilerHost = {
    ...ts.createCompilerHost(options),
    getSourceFile: (name, languageVersion) => {
      const text = virtual.get(name);
      return text === undefined ? undefined : ts.createSourceFile(name, text, languageVersion, true);
    },
    fileExists: (name) => virtual.has(name),
    readFile: (name) => virtual.get(name),
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  const checker = program.getTypeChecker();
  const violations: Violation[] = [];
  for (const name of sources.keys()) {
    const file = program.getSourceFile(posix.join('/core', name));
    if (file === undefined) throw new Error(`${name} was not loaded`);
    checkFile(file, checker, (node, offence) => {
      violations.push({ file: name, line: file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1, offence });
    });
  }
  return violations;
}

function checkFile(file: ts.SourceFile, checker: ts.TypeChecker, report: (node: ts.Node, offence: string) => void): void {
  const checkSpecifier = (node: ts.Node | undefined): void => {
    if (node === undefined) return;
    if (!ts.isStringLiteralLike(node)) return report(node, 'imports a computed specifier');
    if (!insideCore(file.fileName, node.text)) report(node, `imports '${node.text}'`);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) checkSpecifier(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      checkSpecifier(node.moduleReference.expression);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      checkSpecifier(node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) checkSpecifier(node.argument.literal);
    else if (ts.isIdentifier(node) && WORLD_GLOBALS.has(node.text) && isGlobalReference(node, checker)) {
      report(node, `uses ${node.text}`);
    } else if (ts.isIdentifier(node) && node.text === 'Math' && readsRandom(node) && isGlobalReference(node, checker)) {
      report(node, 'uses Math.random');
    }
    // Types are erased, so the names in them do not run; a class's `extends` clause does.
    if (ts.isTypeNode(node) && !isClassExtends(node)) return;
    ts.forEachChild(node, visit);
  };
  visit(file);
}

/** Whether a relative specifier from `fromFile` (under /core) stays inside /core. */
function insideCore(fromFile: string, specifier: string): boolean {
  if (!/^\.\.?(\/|$)/.test(specifier)) return false;
  const target = posix.join(posix.dirname(fromFile), specifier);
  return target === '/core' || target.startsWith('/core/');
}

function readsRandom(math: ts.Identifier): boolean {
  const access = math.parent;
  if (ts.isPropertyAccessExpression(access)) return access.expression === math && access.name.text === 'random';
  return ts.isElementAccessExpression(access) && access.expression === math &&
    ts.isStringLiteralLike(access.argumentExpression) && access.argumentExpression.text === 'random';
}

function isClassExtends(node: ts.Node): boolean {
  const clause = node.parent;
  return ts.isExpressionWithTypeArguments(node) && ts.isHeritageClause(clause) &&
    clause.token === ts.SyntaxKind.ExtendsKeyword && ts.isClassLike(clause.parent);
}

/**
 * Whether `id` is an expression naming the global of that name: not a
 * property or label name, and not resolved to a declaration in the file
 * (a local, parameter, import...). An ambient (`declare`) declaration creates
 * no binding, so the name still reaches the global.
 */
function isGlobalReference(id: ts.Identifier, checker: ts.TypeChecker): boolean {
  const parent = id.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === id) return false;
  if (ts.isQualifiedName(parent) && parent.right === id) return false;
  if ((ts.isImportSpecifier(parent) || ts.isBindingElement(parent)) && parent.propertyName === id) return false;
  if (ts.isLabeledStatement(parent) || ts.isBreakOrContinueStatement(parent)) return false;
  let symbol: ts.Symbol | undefined;
  if (ts.isExportSpecifier(parent)) {
    // `export { x }` and `export { x as y }` refer to a local `x`; `export { x } from '…'` does not.
    if (parent.parent.parent.moduleSpecifier !== undefined || id !== (parent.propertyName ?? parent.name)) return false;
    symbol = checker.getExportSpecifierLocalTargetSymbol(parent);
  } else if (ts.isShorthandPropertyAssignment(parent) && parent.name === id) {
    symbol = checker.getShorthandAssignmentValueSymbol(parent);
  } else {
    symbol = checker.getSymbolAtLocation(id);
  }
  const declarations = symbol?.declarations ?? [];
  // The name in `declare const process: …` declares the global; it is not a use.
  if (declarations.some((d) => ts.getNameOfDeclaration(d) === id)) return false;
  return declarations.every(isAmbient);
}

/** Whether `node` is in a `declare` context, which declares a binding that exists elsewhere. */
function isAmbient(node: ts.Node): boolean {
  for (let n: ts.Node | undefined = node; n !== undefined; n = n.parent) {
    if (ts.canHaveModifiers(n) && ts.getModifiers(n)?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword)) return true;
  }
  return node.getSourceFile().isDeclarationFile;
}
