//! A voucher token as a QR code, at error-correction level M (15 % of the code
//! may be smudged or glared away and it still reads): as SVG, and as a 1-bit
//! grayscale PNG drawn here from the code's modules (the `png` crate encodes
//! it, so the `image` crate's decoders are not pulled in). Both keep the
//! four-module quiet zone scanners need.

use qrcode::render::svg;
use qrcode::types::QrError;
use qrcode::{Color, EcLevel, QrCode, Version};

/// Light modules around the code, as the QR standard asks.
const QUIET_ZONE_MODULES: usize = 4;
/// PNG pixels per module: a version-14 code (73 modules) is 648 px wide.
const PNG_PIXELS_PER_MODULE: usize = 8;
/// SVG size hint in pixels; the image scales without loss.
const SVG_MIN_PIXELS: u32 = 320;

/// A token's QR code.
pub(crate) struct VoucherQr {
    /// The encoded code.
    code: QrCode,
}

impl std::fmt::Debug for VoucherQr {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("VoucherQr")
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}

impl VoucherQr {
    /// The QR code of `token` at level M.
    pub(crate) fn of(token: &str) -> Result<Self, QrError> {
        Ok(Self {
            code: QrCode::with_error_correction_level(token.as_bytes(), EcLevel::M)?,
        })
    }

    /// The QR version reached (1–40; the code is 17 + 4 × version modules wide).
    pub(crate) fn version(&self) -> i16 {
        match self.code.version() {
            Version::Normal(number) | Version::Micro(number) => number,
        }
    }

    /// The code as an SVG document.
    pub(crate) fn svg(&self) -> String {
        self.code
            .render::<svg::Color<'_>>()
            .min_dimensions(SVG_MIN_PIXELS, SVG_MIN_PIXELS)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build()
    }

    /// The code as a PNG: black modules on white, 1 bit per pixel.
    pub(crate) fn png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let modules = self.code.width();
        let colors = self.code.to_colors();
        let side_modules = modules + 2 * QUIET_ZONE_MODULES;
        let side_pixels = side_modules * PNG_PIXELS_PER_MODULE;
        let row_bytes = side_pixels.div_ceil(8);
        let mut pixels = vec![0xff_u8; row_bytes * side_pixels];
        for y in 0..side_pixels {
            for x in 0..side_pixels {
                let module_x = (x / PNG_PIXELS_PER_MODULE).checked_sub(QUIET_ZONE_MODULES);
                let module_y = (y / PNG_PIXELS_PER_MODULE).checked_sub(QUIET_ZONE_MODULES);
                let dark = match (module_x, module_y) {
                    (Some(mx), Some(my)) if mx < modules && my < modules => {
                        colors[my * modules + mx] == Color::Dark
                    }
                    _ => false,
                };
                if dark {
                    // Grayscale 1-bit: 0 is black; the first pixel is the high bit.
                    pixels[y * row_bytes + x / 8] &= !(0x80 >> (x % 8));
                }
            }
        }
        let side = u32::try_from(side_pixels).unwrap_or(u32::MAX);
        let mut encoded = Vec::new();
        let mut encoder = png::Encoder::new(&mut encoded, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
        writer.finish()?;
        Ok(encoded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_sized_text_renders_as_svg_and_png() {
        let qr = VoucherQr::of(&"v4.public.".repeat(34)).unwrap();
        assert_eq!(qr.version(), 14, "340 bytes at level M");
        let svg = qr.svg();
        assert!(svg.starts_with("<?xml"), "{svg}");
        assert!(svg.contains("<svg"));
        let png = qr.png().unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // Width in the IHDR chunk: (73 + 8) modules of 8 px.
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 648);
    }
}
