"""What the simulator billed, served as both providers' usage and cost reports."""
