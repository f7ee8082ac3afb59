/// Pure path arithmetic on `/`-separated strings, so Core never needs Foundation's URL or
/// FileManager to split a path.
public enum Path {
    /// Joins components with single slashes.
    public static func join(_ base: String, _ components: String...) -> String {
        var result = base
        for component in components where !component.isEmpty {
            if result.hasSuffix("/") { result += component } else { result += "/" + component }
        }
        return result
    }

    /// The directory part: `/a/b/c` -> `/a/b`, `c` -> `.`, `/c` -> `/`.
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// The last component: `/a/b/c` -> `c`.
    public static func base(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
