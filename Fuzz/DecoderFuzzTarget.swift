// libFuzzer entry point for the retirement-event decoder, compiled by scripts/fuzz.sh together with
// Sources/RetirementEvent (swiftc -sanitize=fuzzer,address). Not part of the Swift package.
//
// Input layout: the first byte chooses the record's key and headers (so key mismatches, missing and
// odd headers are reached too) and whether the decoder has a keyring (bit 3: then ce_id is the one
// the encrypted shared vectors were sealed for); the rest is the record value.

/// The public test keyring of schema/encryption-vectors.json.
let fuzzKeyring = try! Keyring.parse(
    #"""
    {"current": "k2.2026-11", "keys": [{"id": "k1", "created": "2026-10-01T00:00:00Z", "secret": "7EfbddlbP3O/B4wx3uftQMcQueNQwZ0yNYdpSrYwlDI="}, {"id": "k2.2026-11", "created": "2026-11-01T00:00:00Z", "secret": "7F/23tjop3524Wpqql2LWr00Txi1gxd6EYDm5Z7qvuY="}]}
    """#)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let selector = bytes[0]
    let value = Array(bytes.dropFirst())
    var headers: [String: [UInt8]] = [
        "ce_type": Array(RetirementEvent.eventType.utf8), "ce_id": Array("f75da042-62c1-5621-a97a-8a5942ec11d7".utf8),
        "ce_source": Array("openedx/lms/lms.example.org".utf8), "ce_time": Array("2026-11-01T00:00:00Z".utf8),
    ]
    if selector & 0x01 != 0 { headers["ce_type"] = nil }
    if selector & 0x02 != 0 { headers["ce_id"] = [] }
    if selector & 0x04 != 0 { headers["ce_type"] = Array(value.prefix(8)) }
    let keyring = selector & 0x08 != 0 ? fuzzKeyring : nil
    if keyring != nil { headers["ce_id"] = Array("00000000-0000-4000-8000-000005213599".utf8) }
    let key: [UInt8]? =
        switch selector >> 4 {
        case 0: nil
        case 1: Array("42".utf8)
        default: Array(value.suffix(3))
        }
    for limit in [64 * 1024, 256] {
        let decoder = RetirementEventDecoder(maxValueBytes: limit, keyring: keyring)
        switch decoder.decode(key: key, value: value, header: { headers[$0] }) {
        case .success(let event):
            // A decoded event must satisfy the contract's rules.
            precondition(event.userID > 0)
            precondition(!event.username.isEmpty && !event.email.isEmpty)
            precondition(!event.eventID.isEmpty)
        case .failure(let bad):
            // Reasons are codes and positions, never the value's text.
            precondition(!bad.code.isEmpty)
        }
    }
    return 0
}
