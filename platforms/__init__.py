"""Platform models: each module assembles components and tiles into one accelerator."""
