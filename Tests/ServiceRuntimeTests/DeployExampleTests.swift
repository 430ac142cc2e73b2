import ConfigFile
import Foundation
import ServiceRuntime
import Testing

/// Every consumer configuration that deploy/ ships passes the consumer's own validation, except
/// the indirections to secrets that exist only where it is deployed (`_env`, `_file`).
@Suite struct DeployExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Problems other than a secret's environment variable or file being absent here.
    func problems(_ yaml: String) -> [String] {
        do {
            _ = try ServiceConfiguration.parse(ConfigLoader.parse(yaml: yaml, environment: [:]))
            return []
        } catch let failure as ConfigLoader.Failure {
            return failure.problems.filter { !$0.contains("is not set") && !$0.contains("cannot read file") }
        } catch {
            return ["\(error)"]
        }
    }

    @Test(arguments: ["deploy/compose/config.yaml", "deploy/systemd/config.example.yaml"])
    func configFileIsValid(_ path: String) throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
        #expect(problems(text) == [], "\(path)")
    }

    @Test func kubernetesConfigMapIsValid() throws {
        let path = "deploy/kubernetes/overlays/example/configmap-patch.yaml"
        let document = try ConfigLoader.parse(
            yaml: try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8), environment: [:])
        guard case .map(let data)? = document.values["data"], case .string(let config)? = data["config.yaml"] else {
            Issue.record("\(path) has no data.config.yaml")
            return
        }
        #expect(problems(config) == [], "\(path)")
    }
}
