import Foundation
import RetirementEvent
import Testing

/// The test vectors in `schema/vectors.json` are shared with the LMS plugin's tests, so the
/// producer and the consumer cannot drift apart.
@Suite struct SharedVectorsTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var valid: Bool
        var reason: String?
        var key: String?
        var headers: [String: String]?
        var value: [UInt8]?
        var testDescription: String { name }
    }

    static let vectors: [Vector] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("schema/vectors.json")
        let data = try! Data(contentsOf: url)
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (root["vectors"] as! [[String: Any]]).map { item in
            var value: [UInt8]?
            if let text = item["value"] as? String { value = Array(text.utf8) }
            if let base64 = item["value_base64"] as? String { value = Array(Data(base64Encoded: base64)!) }
            return Vector(
                name: item["name"] as! String, valid: item["valid"] as! Bool, reason: item["reason"] as? String,
                key: item["key"] as? String, headers: item["headers"] as? [String: String], value: value)
        }
    }()

    @Test func thereAreVectorsOfBothKinds() {
        #expect(Self.vectors.filter(\.valid).count >= 6)
        #expect(Self.vectors.filter { !$0.valid }.count >= 12)
    }

    @Test(arguments: vectors)
    func decoderAgreesWithTheVector(_ vector: Vector) {
        let headers = vector.headers
        let result = RetirementEventDecoder().decode(
            key: vector.key.map { Array($0.utf8) }, value: vector.value,
            header: { name in headers?[name].map { Array($0.utf8) } })
        switch result {
        case .success(let event):
            #expect(vector.valid, "accepted an invalid vector; expected \(vector.reason ?? "?")")
            #expect(event.userID > 0)
            #expect(event.eventID == headers?["ce_id"])
        case .failure(let bad):
            #expect(!vector.valid, "refused a valid vector: \(bad.code)")
            if !vector.valid { #expect(bad.code == vector.reason) }
        }
    }
}
