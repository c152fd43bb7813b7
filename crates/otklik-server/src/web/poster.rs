//! A location's printable poster: `GET /f/{slug}/poster.svg`, `…/poster.png` (A4 at 300 dpi)
//! and `…/poster.pdf` (that image on an A4 page) — the business's name, the location, an
//! invitation in the customer's language (`?lang=` or the browser's), and a QR code that opens
//! the location's complaint book at the configured public URL. The SVG is the source; the PNG is
//! it rendered with the system's fonts; the PDF wraps the PNG's pixels.

use std::io::Write;
use std::sync::{Arc, OnceLock};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use otklik_core::Language;
use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg;

use super::i18n::{Tr, accepted_language};
use crate::startup::AppState;

/// A4 in millimetres, the SVG's user units.
const A4_MM: (f64, f64) = (210.0, 297.0);
/// A4 at 300 dpi, in pixels.
pub(crate) const A4_PX: (u32, u32) = (2480, 3508);
/// A4 in PDF points.
const A4_PT: (f64, f64) = (595.28, 841.89);

#[derive(serde::Deserialize, Default)]
pub(super) struct PosterQuery {
    lang: Option<String>,
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Lines of at most `max` characters, broken between words (a longer word stands alone).
fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= max => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

/// Centred lines of text from `y` down, `size` millimetres high, each at most as wide as the
/// page allows at that size.
fn lines(text: &str, y: f64, size: f64, attributes: &str) -> String {
    // A glyph of these fonts is about 0.6 of the size wide; the page keeps 15 mm on each side.
    let max = ((A4_MM.0 - 30.0) / (size * 0.6)) as usize;
    let middle = A4_MM.0 / 2.0;
    wrap(text, max)
        .iter()
        .enumerate()
        .map(|(n, line)| {
            let at = y + n as f64 * size * 1.3;
            format!("<text x=\"{middle}\" y=\"{at:.1}\" font-size=\"{size}\" {attributes}>{}</text>", escape(line))
        })
        .collect()
}

/// The poster as SVG, in millimetres on an A4 page.
pub(crate) fn svg(business: Option<&str>, place: &str, invitation: &str, hint: &str, url: &str) -> String {
    let code = qrcode::QrCode::new(url.as_bytes()).expect("a form's URL fits in a QR code");
    let modules = code.width();
    let quiet = 4;
    let side = 130.0;
    let unit = side / (modules + 2 * quiet) as f64;
    let (left, top) = ((A4_MM.0 - side) / 2.0, 105.0);
    let mut path = String::new();
    for (n, color) in code.to_colors().into_iter().enumerate() {
        if color == qrcode::Color::Dark {
            let (x, y) = (n % modules + quiet, n / modules + quiet);
            path.push_str(&format!(
                "M{:.3} {:.3}h{unit:.3}v{unit:.3}h-{unit:.3}z",
                left + x as f64 * unit,
                top + y as f64 * unit
            ));
        }
    }
    let font = "font-family=\"DejaVu Sans, Liberation Sans, Arial, sans-serif\" text-anchor=\"middle\"";
    let middle = A4_MM.0 / 2.0;
    let title =
        business.map(|name| lines(name, 30.0, 12.0, &format!("font-weight=\"bold\" {font}"))).unwrap_or_default();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"210mm\" height=\"297mm\" viewBox=\"0 0 210 297\">\
         <rect width=\"210\" height=\"297\" fill=\"#fff\"/>{title}{}{}\
         <rect x=\"{left}\" y=\"{top}\" width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#000\"/>{}\
         <text x=\"{middle}\" y=\"285\" font-size=\"4\" {font}>{}</text></svg>",
        lines(place, 55.0, 8.0, font),
        lines(invitation, 75.0, 7.0, font),
        lines(hint, 250.0, 5.5, font),
        escape(url),
    )
}

fn fonts() -> Arc<usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut database = usvg::fontdb::Database::new();
            database.load_system_fonts();
            Arc::new(database)
        })
        .clone()
}

/// The poster rendered at 300 dpi.
pub(crate) fn raster(svg: &str) -> Result<Pixmap, String> {
    let options = usvg::Options { fontdb: fonts(), ..usvg::Options::default() };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| e.to_string())?;
    let mut pixmap = Pixmap::new(A4_PX.0, A4_PX.1).ok_or("cannot make an A4 image")?;
    let scale = A4_PX.0 as f32 / tree.size().width();
    resvg::render(&tree, Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    Ok(pixmap)
}

/// One A4 page with the image on it, its grey pixels deflated.
pub(crate) fn pdf(pixmap: &Pixmap) -> Vec<u8> {
    let grey: Vec<u8> = pixmap
        .pixels()
        .iter()
        .map(|p| {
            let c = p.demultiply();
            ((u32::from(c.red()) * 30 + u32::from(c.green()) * 59 + u32::from(c.blue()) * 11) / 100) as u8
        })
        .collect();
    let image = miniz_oxide::deflate::compress_to_vec_zlib(&grey, 6);
    let content = format!("q {} 0 0 {} 0 0 cm /Im1 Do Q", A4_PT.0, A4_PT.1);
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    let mut object = |out: &mut Vec<u8>, body: &[u8]| {
        offsets.push(out.len());
        let _ = writeln!(out, "{} 0 obj", offsets.len());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    };
    object(&mut out, b"<< /Type /Catalog /Pages 2 0 R >>");
    object(&mut out, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    let page = format!(
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>",
        A4_PT.0, A4_PT.1
    );
    object(&mut out, page.as_bytes());
    let mut xobject = format!(
        "<< /Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /DeviceGray /BitsPerComponent 8 \
         /Filter /FlateDecode /Length {} >>\nstream\n",
        pixmap.width(),
        pixmap.height(),
        image.len()
    )
    .into_bytes();
    xobject.extend_from_slice(&image);
    xobject.extend_from_slice(b"\nendstream");
    object(&mut out, &xobject);
    let stream = format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len());
    object(&mut out, stream.as_bytes());
    let xref = out.len();
    let _ = write!(out, "xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1);
    for offset in &offsets {
        let _ = writeln!(out, "{offset:010} 00000 n ");
    }
    let _ = write!(out, "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", offsets.len() + 1);
    out
}

/// `GET /f/{slug}/{poster}` with `poster.svg`, `poster.png` or `poster.pdf`.
pub(super) async fn poster(
    State(state): State<AppState>,
    Path((slug, file)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): Query<PosterQuery>,
) -> Response {
    let format = match file.as_str() {
        "poster.svg" => "svg",
        "poster.png" => "png",
        "poster.pdf" => "pdf",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let language = match query.lang.as_deref() {
        Some("ru") => Language::Ru,
        Some("uk") => Language::Uk,
        Some("en") => Language::En,
        _ => accepted_language(&headers).unwrap_or(Language::Ru),
    };
    let location = match state.app.open_location(&slug).await {
        Ok(Some(location)) => location,
        Ok(None) => return (StatusCode::NOT_FOUND, Tr(language).t("book-no-location")).into_response(),
        Err(error) => return super::desk::internal(error),
    };
    let tr = Tr(language);
    let url = format!("{}/f/{}", state.app.public_url(), location.slug);
    let svg =
        svg(state.app.business_name.as_deref(), &location.name, &tr.t("poster-invitation"), &tr.t("poster-hint"), &url);
    let cached = [(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"))];
    let filename = |ext: &str| {
        HeaderValue::from_str(&format!("inline; filename=\"otklik-{}.{ext}\"", location.slug))
            .unwrap_or(HeaderValue::from_static("inline"))
    };
    if format == "svg" {
        return (cached, [(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml; charset=utf-8"))], svg)
            .into_response();
    }
    // Rendering an A4 page at 300 dpi is CPU work: off the async threads.
    let rendered = tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, &'static str), String> {
        let pixmap = raster(&svg)?;
        Ok(match format {
            "png" => (pixmap.encode_png().map_err(|e| e.to_string())?, "image/png"),
            _ => (pdf(&pixmap), "application/pdf"),
        })
    })
    .await;
    match rendered {
        Ok(Ok((bytes, content_type))) => (
            cached,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (header::CONTENT_DISPOSITION, filename(format)),
            ],
            bytes,
        )
            .into_response(),
        Ok(Err(error)) => super::desk::internal(otklik_app::AppError::Internal(format!("a poster: {error}"))),
        Err(error) => super::desk::internal(otklik_app::AppError::Internal(format!("a poster: {error}"))),
    }
}
