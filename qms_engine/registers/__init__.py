"""Register entries with the rules of their books: the General Diary's day, gapless numbering per day or year, corrections that link both ways, required fields."""
