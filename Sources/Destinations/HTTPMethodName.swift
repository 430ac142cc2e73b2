import NIOHTTP1

/// The methods the vendors use (keeps NIOHTTP1 out of the destination files).
enum HTTPMethodName {
    case get, post, delete, put, head

    var nio: NIOHTTP1.HTTPMethod {
        switch self {
        case .get: .GET
        case .post: .POST
        case .delete: .DELETE
        case .put: .PUT
        case .head: .HEAD
        }
    }
}
