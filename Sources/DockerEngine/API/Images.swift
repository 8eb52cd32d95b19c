/// Images: `/images/…`.
extension EngineClient {
    /// `GET /images/{name}/json`: the engine's record of an image (by reference or id).
    /// - Throws: ``EngineError`` `.notFound` for no such image.
    public func inspectImage(_ reference: String) async throws -> ImageInspect {
        try await call(.get, "/images/\(EngineQuery.escapePath(reference))/json", as: ImageInspect.self)
    }

    /// `GET /images/json?filters=`: the images matching `filters` (e.g. `["label": ["k=v"]]`).
    /// - Throws: ``EngineError``.
    public func listImages(filters: [String: [String]]) async throws -> [ImageSummary] {
        try await call(.get, "/images/json", [("filters", try EngineQuery.filters(filters))], as: [ImageSummary].self)
    }

    /// `DELETE /images/{id}?force=&noprune=`: removes an image with all its tags (`force`), and its
    /// untagged parents unless `noprune`.
    /// - Throws: ``EngineError`` `.notFound` for no such image, `.http` 409 while another image or
    ///   a container uses it.
    public func removeImage(_ id: String, force: Bool = true, noprune: Bool = false) async throws {
        try await call(
            .delete, "/images/\(EngineQuery.escapePath(id))",
            [("force", force ? "true" : "false"), ("noprune", noprune ? "true" : "false")])
    }

    /// `POST /images/create?fromImage=&tag=`: pulls `reference`, its progress a line of JSON at a
    /// time (lines that are not progress are skipped), the stream bounded by ``streamStall``.
    /// `registryAuth` is the `X-Registry-Auth` header's value (base64url JSON), when there is one.
    /// - Throws: ``EngineError`` `.notFound` for an image the registry does not have (or refuses
    ///   to name), `.http` for another refusal. Errors met while pulling arrive as progress lines
    ///   with `error` set.
    public func pullImage(_ reference: String, registryAuth: String? = nil) async throws -> JSONLines<PullProgress> {
        let headers = registryAuth.map { [(name: "X-Registry-Auth", value: $0)] } ?? []
        let stream = try await stream(
            HTTPRequest(.post, EngineQuery.target("/images/create", Self.pullQuery(reference)), headers: headers))
        return JSONLines(stream)
    }

    /// The query of a pull of `reference`: a digest reference whole as `fromImage`; otherwise its
    /// repository as `fromImage` and its tag (`latest` when it has none) as `tag`. A colon before the
    /// last slash belongs to a registry's port, not to a tag.
    public static func pullQuery(_ reference: String) -> [(String, String)] {
        if reference.contains("@") { return [("fromImage", reference)] }
        let slash = reference.lastIndex(of: "/") ?? reference.startIndex
        guard let colon = reference[slash...].lastIndex(of: ":") else { return [("fromImage", reference), ("tag", "latest")] }
        return [("fromImage", String(reference[..<colon])), ("tag", String(reference[reference.index(after: colon)...]))]
    }
}
