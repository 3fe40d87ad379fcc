import Testing

@testable import CoopFormats

@Suite struct AmountTests {
    @Test func amountsParseAsTheDatasetWritesThem() throws {
        let trillion = try Amount.parse("2.6", unit: "trillion JPY")
        #expect(trillion.value == 26 && trillion.multiplier == 11 && trillion.unit == "JPY")
        let billion = try Amount.parse("300", unit: "billion JPY")
        #expect(billion.value == 300 && billion.multiplier == 9 && billion.unit == "JPY")
        let persons = try Amount.parse("110,013", unit: "persons")
        #expect(persons.value == 110_013 && persons.multiplier == 0 && persons.unit == "persons")
        // Trailing zeros of a fraction do not change the figure; a bare scale word has no unit.
        let padded = try Amount.parse("2.60", unit: "trillion JPY")
        #expect(padded.value == 26 && padded.multiplier == 11)
        let bare = try Amount.parse("1.5", unit: "million")
        #expect(bare.value == 15 && bare.multiplier == 5 && bare.unit == "")
        let zero = try Amount.parse("0", unit: "billion JPY")
        #expect(zero.value == 0 && zero.multiplier == 0)
    }

    @Test func amountsThatDoNotRead() {
        #expect(throws: FormatError("value \"12a\" is not a number")) { try Amount.parse("12a", unit: "persons") }
        #expect(throws: FormatError("value \"1.5\" has more decimals than its unit's scale allows")) {
            try Amount.parse("1.5", unit: "persons")
        }
        #expect(throws: FormatError.self) { try Amount.parse("-5", unit: "persons") }
        #expect(throws: FormatError.self) { try Amount.parse("+5", unit: "persons") }
        #expect(throws: FormatError.self) { try Amount.parse("1.", unit: "persons") }
        #expect(throws: FormatError.self) { try Amount.parse("99999999999999999999", unit: "persons") }
    }

    @Test func amountsPrintAsTheDatasetWritesThem() {
        #expect(Amount.csvColumns(value: 26, multiplier: 11, unit: "JPY") == ("2.6", "trillion JPY"))
        #expect(Amount.csvColumns(value: 300, multiplier: 9, unit: "JPY") == ("300", "billion JPY"))
        #expect(Amount.csvColumns(value: 110_013, multiplier: 0, unit: "persons") == ("110013", "persons"))
        #expect(Amount.display(26, multiplier: 11) == "2.6 trillion")
        #expect(Amount.display(1_083_769, multiplier: 0) == "1,083,769")
        #expect(Amount.digits(26, multiplier: 11) == "2600000000000")
    }

    @Test func rangeBoundsShareTheSmallerMultiplier() throws {
        let aligned = try Amount.aligned(26, 11, 3, 12)
        #expect(aligned == (26, 30, 11))
        #expect(throws: FormatError("value too large")) { try Amount.aligned(1, 0, Int64.max / 2, 1) }
    }
}
