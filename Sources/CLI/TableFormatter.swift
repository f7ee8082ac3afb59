/// Left-aligned columns separated by two spaces, like Go's tabwriter output in Litestream's
/// listing commands, so the columns line up for people and split on whitespace for scripts.
struct TableFormatter {
    var headers: [String]
    private(set) var rows: [[String]] = []

    init(headers: [String]) {
        self.headers = headers
    }

    /// Adds a row; it must have one cell per header.
    mutating func append(_ row: [String]) {
        precondition(row.count == headers.count, "a table row needs one cell per header")
        rows.append(row)
    }

    /// The table as text, one line per row after the header line, each ending in a newline.
    func render() -> String {
        let all = [headers] + rows
        let widths = headers.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        var text = ""
        for row in all {
            var line = ""
            for (column, cell) in row.enumerated() {
                let isLast = column == row.count - 1
                line += isLast ? cell : cell + String(repeating: " ", count: widths[column] - cell.count + 2)
            }
            text += line + "\n"
        }
        return text
    }
}
