"""A grid's arms compared: cells as arms, the summary with intervals and the paired verdict,
`--repeat`'s agreement, `--sample`'s rows and the whole dataset projected from them."""
