//! Media controller + request API client of V4L2 stateless decoders.
