import t from 'tap';
import {
  buildRegistryResponse, failureResponse, parseXml, registryError, responseStatusFor, serializeXml, XDS_ERROR_CODES,
} from '../../src/ihe/xds/index.ts';

const RS = 'urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0';

void t.test('the error table holds every code the XDS.b transactions use', async (t) => {
  for (const code of [
    'XDSRegistryMetadataError', 'XDSRepositoryMetadataError', 'XDSPatientIdDoesNotMatch', 'XDSUnknownPatientId', 'XDSDuplicateUniqueIdInRegistry',
    'XDSNonIdenticalHash', 'XDSNonIdenticalSize', 'XDSMissingDocument', 'XDSMissingDocumentMetadata', 'XDSUnknownRepositoryId', 'XDSDocumentUniqueIdError',
    'XDSRegistryError', 'XDSRepositoryError', 'XDSStoredQueryParamNumber', 'XDSUnknownStoredQuery', 'XDSStoredQueryMissingParam', 'XDSRegistryBusy',
  ]) {
    t.ok(code in XDS_ERROR_CODES, code);
  }
  t.equal(XDS_ERROR_CODES.XDSExtraMetadataNotSaved.severity, 'Warning');
});

void t.test('a response without errors is Success and has no error list', async (t) => {
  const xml = serializeXml(buildRegistryResponse());
  t.equal(xml, `<rs:RegistryResponse xmlns:rs="${RS}" status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"/>`);
});

void t.test('a response with an error is Failure and lists code, context, location and severity', async (t) => {
  const root = parseXml(serializeXml(buildRegistryResponse([registryError('XDSMissingDocument', 'no Document element', 'Document01')])));
  t.equal(root.attrs.status, 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure');
  const list = root.children[0];
  t.equal(list.attrs.highestSeverity, 'urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error');
  t.same({ ...list.children[0].attrs }, {
    errorCode: 'XDSMissingDocument',
    codeContext: 'no Document element',
    location: 'Document01',
    severity: 'urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error',
  });
});

void t.test('warnings alone leave a submission successful', async (t) => {
  const warnings = [registryError('XDSExtraMetadataNotSaved', 'slot dropped')];
  t.equal(responseStatusFor(warnings), 'Success');
  const root = parseXml(serializeXml(buildRegistryResponse(warnings)));
  t.equal(root.attrs.status, 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success');
  t.equal(root.children[0].attrs.highestSeverity, 'urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning');
});

void t.test('errors with something still returned make a PartialSuccess', async (t) => {
  t.equal(responseStatusFor([registryError('XDSRegistryError', 'x')], { somethingReturned: true }), 'PartialSuccess');
  t.equal(responseStatusFor([registryError('XDSRegistryError', 'x')]), 'Failure');
});

void t.test('a busy registry answers Failure with XDSRegistryBusy', async (t) => {
  const xml = serializeXml(failureResponse('XDSRegistryBusy', 'try again later'));
  t.match(xml, /status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"/);
  t.match(xml, /errorCode="XDSRegistryBusy"/);
});
