// Validates the contract document given on the command line. An AsyncAPI
// document goes through the AsyncAPI Initiative's own parser and its
// recommended rules (document structure and references), then every message
// example is checked against its resolved payload schema with Ajv (the parser's
// rules do not check examples of 3.0 documents). An OpenAPI document is checked
// against the OpenAPI 3.1 schema, with every $ref resolved. Prints each
// finding; exits 1 on any error or warning, 2 on bad usage.
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv from "ajv";

const path = process.argv[2];
if (!path) {
  console.error("usage: node validate.mjs <asyncapi.json>");
  process.exit(2);
}

const text = await readFile(path, "utf8");
if ("openapi" in JSON.parse(text)) {
  const result = await new Validator().validate(JSON.parse(text));
  if (!result.valid) {
    console.log(`error: ${JSON.stringify(result.errors, null, 2)}`);
    console.log(`${path}: not a valid OpenAPI document`);
    process.exit(1);
  }
  const document = JSON.parse(text);
  const operations = Object.values(document.paths).reduce((count, item) => count + Object.keys(item).length, 0);
  console.log(`${path}: valid OpenAPI ${document.openapi}, ${operations} operations`);
  process.exit(0);
}

const parser = new Parser();
const { document, diagnostics } = await parser.parse(text);
const severityName = ["error", "warning", "information", "hint"];
let failures = 0;
for (const finding of diagnostics) {
  const severity = severityName[finding.severity] ?? String(finding.severity);
  const where = finding.path.join("/");
  console.log(`${severity}: ${finding.code}: ${finding.message} at /${where}`);
  if (
    finding.severity === DiagnosticSeverity.Error ||
    finding.severity === DiagnosticSeverity.Warning
  ) {
    failures += 1;
  }
}
// Formats such as int64 and uuid describe; only the types and constraints judge.
const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
for (const message of document?.allMessages() ?? []) {
  const validate = ajv.compile(message.payload().json());
  for (const example of message.examples()) {
    if (!validate(example.payload())) {
      failures += 1;
      for (const problem of validate.errors) {
        console.log(`error: example of ${message.id()}: ${problem.instancePath || "/"} ${problem.message}`);
      }
    }
  }
}
if (!document || failures > 0) {
  console.log(`${path}: ${failures} finding(s) to fix`);
  process.exit(1);
}
const messages = document.allMessages().length;
const operations = document.allOperations().length;
console.log(`${path}: valid AsyncAPI ${document.version()}, ${messages} messages, ${operations} operations`);
