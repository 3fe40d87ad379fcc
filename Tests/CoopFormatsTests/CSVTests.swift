import Testing

@testable import CoopFormats

@Suite struct CSVTests {
    @Test func quotedCommasDoubledQuotesLineBreaksAndLineNumbers() throws {
        let records = try CSV.parse("a,b\r\n1,\"x, \"\"y\"\"\"\r\n\r\n2,\"multi\nline\"\n3,z")
        #expect(records.map(\.fields) == [["a", "b"], ["1", "x, \"y\""], ["2", "multi\nline"], ["3", "z"]])
        #expect(records.map(\.line) == [1, 2, 4, 6])
    }

    @Test func edgeCases() throws {
        // A CRLF inside quotes is kept; empty fields and an empty quoted field are fields.
        #expect(try CSV.parse("\"a\r\nb\",c\r\n").map(\.fields) == [["a\r\nb", "c"]])
        #expect(try CSV.parse(",,\n\"\"\n").map(\.fields) == [["", "", ""], [""]])
        // No final line break; a byte order mark; a quote inside an unquoted field is text.
        #expect(try CSV.parse("\u{FEFF}a,b").map(\.fields) == [["a", "b"]])
        #expect(try CSV.parse("5\"x,y").map(\.fields) == [["5\"x", "y"]])
        #expect(try CSV.parse("").isEmpty && CSV.parse("\n\r\n").isEmpty)
        #expect(throws: FormatError("line 2: a quoted field is never closed")) { try CSV.parse("a\nb,\"open\n") }
    }

    @Test func writtenFieldsReadBack() throws {
        #expect(CSV.line(["plain", "with,comma", "with \"quote\""]) == "plain,\"with,comma\",\"with \"\"quote\"\"\"")
        #expect(CSV.field("two\nlines") == "\"two\nlines\"" && CSV.field("") == "")
        let fields = ["a", "b,c", "\"q\"", "x\r\ny", "", "日本"]
        #expect(try CSV.parse(CSV.line(fields)).map(\.fields) == [fields])
    }
}
