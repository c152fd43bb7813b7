//! The business's locations: each a shop or branch with its public complaint book (`/f/{slug}`)
//! and its time zone. Managers and admins add and change them; anyone reading cases lists them.

use otklik_core::Right;
use otklik_store::{Location, LocationPatch, StoreError};

use crate::{Actor, App, AppError, input};

/// A location asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLocation {
    pub slug: String,
    pub name: String,
    pub address: Option<String>,
    pub time_zone: Option<String>,
    /// Working hours in one line (`mon-fri 09:00-18:00; sat 10:00-16:00`); the business's when none.
    pub hours: Option<String>,
}

/// A slug: 2 to 64 lowercase Latin letters, digits and inner hyphens (it sits in printed links).
fn slug(raw: &str) -> Result<String, AppError> {
    let slug = raw.trim();
    let well_formed = (2..=64).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if well_formed {
        Ok(slug.to_owned())
    } else {
        Err(AppError::Invalid(format!(
            "slug: `{slug}` must be 2 to 64 lowercase Latin letters, digits and inner hyphens (tverskaya-12)"
        )))
    }
}

/// Working hours in one line, checked: blank is none (the business's hours).
fn hours(raw: Option<String>) -> Result<Option<String>, AppError> {
    let hours = input::line("hours", raw)?;
    if let Some(hours) = &hours {
        otklik_core::parse_week(hours).map_err(|error| AppError::Invalid(format!("hours: {error}")))?;
    }
    Ok(hours)
}

fn name(raw: &str) -> Result<String, AppError> {
    let name = input::line("name", Some(raw.to_owned()))?
        .ok_or_else(|| AppError::Invalid("name: must not be blank".into()))?;
    if name.chars().count() > 200 {
        return Err(AppError::Invalid("name: at most 200 characters".into()));
    }
    Ok(name)
}

impl App {
    /// Every location, by slug.
    pub async fn locations(&self, actor: &Actor) -> Result<Vec<Location>, AppError> {
        actor.require(Right::ReadCases)?;
        Ok(self.store.locations().await?)
    }

    /// Adds a location.
    pub async fn create_location(&self, actor: &Actor, new: NewLocation) -> Result<Location, AppError> {
        actor.require(Right::ManageLocations)?;
        let slug = slug(&new.slug)?;
        let name = name(&new.name)?;
        let address = input::line("address", new.address)?;
        let time_zone = self.time_zone(new.time_zone)?;
        let hours = hours(new.hours)?;
        let record = otklik_store::NewLocationRecord { slug: slug.clone(), name, address, time_zone, hours };
        let location = self.store.create_location(&record, self.clock.now()).await.map_err(|error| match error {
            StoreError::Conflict(_) => {
                AppError::Conflict { detail: format!("slug: `{slug}` is taken"), allowed: Vec::new() }
            }
            other => other.into(),
        })?;
        self.refresh_locations().await?;
        Ok(location)
    }

    /// Changes a location: its name, address, time zone, or whether its book takes feedback.
    pub async fn update_location(&self, actor: &Actor, slug: &str, patch: LocationPatch) -> Result<Location, AppError> {
        actor.require(Right::ManageLocations)?;
        if patch == LocationPatch::default() {
            return Err(AppError::Invalid(
                "the patch changes nothing: give name, address, time_zone, hours or active".into(),
            ));
        }
        let patch = LocationPatch {
            name: patch.name.as_deref().map(name).transpose()?,
            address: patch.address.map(|address| input::line("address", address)).transpose()?,
            time_zone: patch.time_zone.map(|zone| self.time_zone(zone)).transpose()?,
            hours: patch.hours.map(hours).transpose()?,
            active: patch.active,
        };
        let location = self.store.update_location(slug, &patch).await.map_err(|error| match error {
            StoreError::NotFound(_) => AppError::NotFound(format!("no location `{slug}`")),
            other => other.into(),
        })?;
        self.refresh_locations().await?;
        Ok(location)
    }

    /// Reads the locations' time zones into the deadline policy, so that a location far from
    /// the head office counts business hours on its own clocks. Every node does it at start-up,
    /// after each change it makes, and on every pass of its worker (another node's change).
    pub async fn refresh_locations(&self) -> Result<(), AppError> {
        let zones = self.store.locations().await?.into_iter().map(|location| {
            let week = location.hours.as_deref().and_then(|hours| otklik_core::parse_week(hours).ok());
            (location.slug, location.time_zone, week)
        });
        self.workflow.deadlines.set_location_calendars(zones);
        Ok(())
    }

    /// Locations written on cases that name no location, with how many cases each.
    pub async fn unmatched_locations(&self, actor: &Actor) -> Result<Vec<(String, i64)>, AppError> {
        actor.require(Right::ManageLocations)?;
        Ok(self.store.unmatched_locations(100).await?)
    }

    /// Gives every case that has `text` as its location the location `slug`.
    pub async fn match_location(&self, actor: &Actor, text: &str, slug: &str) -> Result<u64, AppError> {
        actor.require(Right::ManageLocations)?;
        self.store.match_location(text, slug, actor.stamp(&*self.clock)).await.map_err(|error| match error {
            StoreError::NotFound(_) => AppError::NotFound(format!("no location `{slug}`")),
            other => other.into(),
        })
    }

    /// The time zone a case's times are read in, by its customer and in its messages: its
    /// location's, else the business's.
    pub async fn zone_of_location(&self, location: Option<&str>) -> Result<String, AppError> {
        let own = match location {
            Some(slug) => self.store.location(slug).await?.and_then(|location| location.time_zone),
            None => None,
        };
        Ok(own.unwrap_or_else(|| self.workflow.deadlines.calendar.time_zone().to_owned()))
    }

    /// The active location a public link names (no actor: its book is public).
    pub async fn open_location(&self, slug: &str) -> Result<Option<Location>, AppError> {
        Ok(self.store.location(slug).await?.filter(|location| location.active))
    }

    /// A time zone given in a form: blank is none, anything else must be an IANA name.
    pub(crate) fn time_zone(&self, zone: Option<String>) -> Result<Option<String>, AppError> {
        let zone = input::line("time_zone", zone)?;
        if let Some(zone) = &zone
            && otklik_core::in_time_zone(zone, self.clock.now()).is_none()
        {
            return Err(AppError::Invalid(format!("time_zone: `{zone}` is not a time zone (Europe/Kyiv, UTC…)")));
        }
        Ok(zone)
    }
}
