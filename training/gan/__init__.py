"""The conditional DCGAN that draws handwritten digits: data splits, training, the judge, the card."""
