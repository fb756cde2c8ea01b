"""The payments domain: a payment and its legal transitions."""
