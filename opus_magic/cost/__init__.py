"""Cost: the price catalog and its data, pricing in Decimal dollars, token counts, calibration, price-map import."""
