//! `geo`: great-circle distance.

/// The mean Earth radius in kilometres (IUGG), the customary one for the
/// haversine formula.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// The great-circle distance in kilometres between two points given as
/// latitude and longitude in degrees, by the haversine formula.
#[rustydb::function(immutable, strict)]
pub fn haversine(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    // min(1): rounding can push `a` a hair above 1 for antipodal points,
    // where asin would give NaN.
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

rustydb::export!(haversine);
