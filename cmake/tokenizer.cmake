# SentencePiece bridge library for the umT5 tokenizer (issue 4). Nothing yet.
