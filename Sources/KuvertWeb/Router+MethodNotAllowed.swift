import Hummingbird

extension Router where Context == KuvertRequestContext {
    /// The methods a known path answers `405 Method Not Allowed` for when it has
    /// no route for them (others, such as `CONNECT`, stay `404`). `QUERY` is
    /// the safe method with a body of the HTTP working group's current draft.
    static var answeredMethods: [HTTPRequest.Method] {
        [.get, .head, .post, .put, .delete, .patch, .options, .trace, HTTPRequest.Method("QUERY")!]
    }

    /// Gives every path with routes a `405` with `Allow` for the other common
    /// methods, instead of Hummingbird's `404`. Call after every route is added;
    /// `HEAD` counts as allowed wherever `GET` is (the router answers it).
    func answerOtherMethods() {
        var methods: [String: (path: RouterPath, methods: Set<HTTPRequest.Method>)] = [:]
        for route in routes {
            methods[route.path.description, default: (route.path, [])].methods.insert(route.method)
        }
        for (path, allowed) in methods.values {
            var allowed = allowed
            if allowed.contains(.get) { allowed.insert(.head) }
            let allow = Self.answeredMethods.filter(allowed.contains).map(\.rawValue).joined(separator: ", ")
            for method in Self.answeredMethods where !allowed.contains(method) {
                on(path, method: method) { _, _ -> Response in
                    var response = JSONResponse.make(
                        ["error": "method_not_allowed", "message": "This address answers \(allow) only."],
                        status: .methodNotAllowed
                    )
                    response.headers[.allow] = allow
                    return response
                }
            }
        }
    }
}
