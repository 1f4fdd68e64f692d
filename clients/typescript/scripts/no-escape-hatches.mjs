// Fails if a program written against the generated client steps outside its types, which `tsc --strict` alone
// allows: casts (`x as T`, `<T>x`), non-null assertions (`x!`), `any`, type predicates that narrow on the
// programmer's word (`x is T`), comments that silence the compiler, untyped JSON (`JSON.parse`, `.json()`), and
// headers passed by hand (a `headers` option) instead of the parameters the document declares.
//
//   node scripts/no-escape-hatches.mjs src/mentors-evening.ts ...
import { readFileSync } from "node:fs";

import ts from "typescript";

const problems = [];

function report(file, source, node, what) {
  const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
  problems.push(`${file}:${line + 1}:${character + 1}: ${what}: ${node.getText(source).slice(0, 80)}`);
}

function isNamed(node, name) {
  return node !== undefined && (ts.isIdentifier(node) || ts.isStringLiteral(node)) && node.text === name;
}

for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  for (const match of text.matchAll(/@ts-(ignore|expect-error|nocheck)/g)) {
    const { line } = source.getLineAndCharacterOfPosition(match.index);
    problems.push(`${file}:${line + 1}: a comment silences the compiler: ${match[0]}`);
  }
  const visit = (node) => {
    if (ts.isAsExpression(node) || ts.isTypeAssertionExpression(node)) {
      report(file, source, node, "a cast");
    } else if (ts.isNonNullExpression(node)) {
      report(file, source, node, "a non-null assertion");
    } else if (node.kind === ts.SyntaxKind.AnyKeyword) {
      report(file, source, node, "any");
    } else if (ts.isTypePredicateNode(node) && node.type !== undefined) {
      report(file, source, node, "a type predicate (narrowing the compiler cannot check)");
    } else if (ts.isPropertyAssignment(node) || ts.isShorthandPropertyAssignment(node)) {
      if (isNamed(node.name, "headers")) {
        report(file, source, node, "headers passed by hand (use the parameters the document declares)");
      }
    } else if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const { expression, name } = node.expression;
      if ((isNamed(expression, "JSON") && name.text === "parse") || name.text === "json") {
        report(file, source, node, "untyped JSON");
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
