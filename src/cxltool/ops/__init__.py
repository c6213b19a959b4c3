"""Operations as library functions: listing, filtering, and (later) changes."""
